"""Routers of the contract API: thin, each a call to one handler in one unit of work."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse
from revline_events.unit_of_work import UnitOfWork
from revline_service.auth import Principal, Role, require
from revline_service.idempotency import execute
from revline_service.pagination import Page, PageRequest, page_of, page_request
from revline_service.service import Runtime, RuntimeDep

from contract.api.schemas import (
    AccountId,
    ContractOut,
    Id,
    RenewalRunIn,
    RenewalRunOut,
    RenewIn,
    TerminateIn,
    contract_out,
)
from contract.domain.errors import UnknownContract
from contract.handlers import contracts as steps
from contract.handlers.renewal_runs import UnknownRenewalRun, run_renewals
from contract.store.queries import ContractRecords, RenewalRuns

router = APIRouter(prefix="/v1")

Reader = Annotated[Principal, Depends(require(Role.SALES, Role.FINANCE, Role.OPS))]
Changer = Annotated[Principal, Depends(require(Role.SALES, Role.OPS))]
Operator = Annotated[Principal, Depends(require(Role.OPS))]
Paging = Annotated[PageRequest, Depends(page_request)]


async def _view(uow: UnitOfWork, runtime: Runtime, contract_id: str) -> ContractOut:
    row = await uow.repository(ContractRecords).find(contract_id)
    if row is None:  # pragma: no cover - the step just wrote it
        raise UnknownContract(contract_id)
    return contract_out(row, runtime.clock.today())


@router.get("/contracts", response_model=Page[ContractOut], tags=["contracts"])
async def list_contracts(
    runtime: RuntimeDep,
    _: Reader,
    paging: Paging,
    account_id: Annotated[AccountId | None, Query()] = None,
    quote_id: Annotated[
        Id | None, Query(description="the creating, amending or renewing quote")
    ] = None,
) -> Page[ContractOut]:
    """Contracts, oldest first, optionally of one account or quote."""
    async with runtime.db.session() as session:
        rows = await ContractRecords(session).page(account_id, quote_id, paging.after, paging.limit)
    today = runtime.clock.today()
    return page_of([contract_out(r, today) for r in rows], paging, lambda c: [c.id])


@router.get("/contracts/{contract_id}", response_model=ContractOut, tags=["contracts"])
async def get_contract(contract_id: str, runtime: RuntimeDep, _: Reader) -> ContractOut:
    """One contract: subscriptions at today's quantities, their history, amendments, renewals."""
    async with runtime.db.session() as session:
        row = await ContractRecords(session).find(contract_id)
    if row is None:
        raise UnknownContract(contract_id)
    return contract_out(row, runtime.clock.today())


@router.post("/contracts/{contract_id}/terminate", response_model=ContractOut, tags=["contracts"])
async def terminate_contract(
    contract_id: str, body: TerminateIn, request: Request, runtime: RuntimeDep, who: Changer
) -> JSONResponse:
    """End service early: effective_date is the first day without service (end_date = T - 1).

    409 when the contract is terminated or expired already; 422 when T is on or before
    its start date or after its end date.
    """

    async def step(uow: UnitOfWork) -> Any:
        await steps.terminate_contract(uow, contract_id, body.effective_date, body.credit_unused)
        return await _view(uow, runtime, contract_id)

    return await execute(request, who, runtime.uow, step, body=body)


@router.post("/contracts/{contract_id}/renew", response_model=ContractOut, tags=["contracts"])
async def renew_contract(
    contract_id: str,
    request: Request,
    runtime: RuntimeDep,
    who: Changer,
    body: Annotated[RenewIn | None, Body()] = None,
) -> JSONResponse:
    """Add the renewal term now: from the day after the end date, same prices and quantities.

    409 when the contract is terminated or expired.
    """
    term_months = body.term_months if body is not None else None

    async def step(uow: UnitOfWork) -> Any:
        await steps.renew_contract(uow, contract_id, term_months)
        return await _view(uow, runtime, contract_id)

    return await execute(request, who, runtime.uow, step, body=body)


@router.post("/renewal-runs", status_code=201, response_model=RenewalRunOut, tags=["renewal runs"])
async def create_renewal_run(
    body: RenewalRunIn, request: Request, runtime: RuntimeDep, who: Operator
) -> JSONResponse:
    """Renew the auto-renewing contracts due by as_of, expire the others that ended before it.

    Running it again with the same as_of renews and expires nothing.
    """

    async def step(uow: UnitOfWork) -> Any:
        result = await run_renewals(uow, body.as_of)
        row = await uow.repository(RenewalRuns).find(result.id)
        return RenewalRunOut.model_validate(row)

    return await execute(request, who, runtime.uow, step, body=body, status_code=201)


@router.get("/renewal-runs/{run_id}", response_model=RenewalRunOut, tags=["renewal runs"])
async def get_renewal_run(run_id: str, runtime: RuntimeDep, _: Reader) -> RenewalRunOut:
    """One renewal run and what it did."""
    async with runtime.db.session() as session:
        row = await RenewalRuns(session).find(run_id)
    if row is None:
        raise UnknownRenewalRun(run_id)
    return RenewalRunOut.model_validate(row)
