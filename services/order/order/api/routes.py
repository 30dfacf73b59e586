"""Routers of the order API: thin, each a call to one handler in one unit of work."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from revline_events.unit_of_work import UnitOfWork
from revline_service.auth import Principal, Role, require
from revline_service.idempotency import execute
from revline_service.pagination import Page, PageRequest, page_of, page_request
from revline_service.service import RuntimeDep

from order.api.schemas import (
    AccountId,
    BillingDateOverrideIn,
    ContractId,
    HoldIn,
    OrderOut,
    order_out,
)
from order.domain.errors import UnknownOrder
from order.handlers import billing_controls as steps
from order.store.queries import Orders

router = APIRouter(prefix="/v1", tags=["orders"])

Reader = Annotated[Principal, Depends(require(Role.OPS, Role.FINANCE, Role.SALES))]
Operator = Annotated[Principal, Depends(require(Role.OPS))]
Paging = Annotated[PageRequest, Depends(page_request)]


@router.get("/orders", response_model=Page[OrderOut])
async def list_orders(
    runtime: RuntimeDep,
    _: Reader,
    paging: Paging,
    contract_id: Annotated[ContractId | None, Query()] = None,
    account_id: Annotated[AccountId | None, Query()] = None,
) -> Page[OrderOut]:
    """Orders, oldest first, optionally of one contract and/or one account."""
    async with runtime.db.session() as session:
        rows = await Orders(session).page(
            contract_id=contract_id,
            account_id=account_id,
            after=paging.after,
            limit=paging.limit,
        )
    return page_of([order_out(r) for r in rows], paging, lambda o: [o.id])


@router.get("/orders/{order_id}", response_model=OrderOut)
async def get_order(order_id: str, runtime: RuntimeDep, _: Reader) -> OrderOut:
    """One order with its items and billing controls."""
    async with runtime.db.session() as session:
        row = await Orders(session).find(order_id)
    if row is None:
        raise UnknownOrder(order_id)
    return order_out(row)


@router.post("/orders/{order_id}/hold", response_model=OrderOut)
async def hold_billing(
    order_id: str, body: HoldIn, request: Request, runtime: RuntimeDep, who: Operator
) -> JSONResponse:
    """Hold billing of the order's items (409 when it is on hold already)."""

    async def step(uow: UnitOfWork) -> Any:
        row = await steps.hold_billing(uow, order_id, body.reason)
        return order_out(row)

    return await execute(request, who, runtime.uow, step, body=body)


@router.post("/orders/{order_id}/release", response_model=OrderOut)
async def release_billing(
    order_id: str, request: Request, runtime: RuntimeDep, who: Operator
) -> JSONResponse:
    """Release the hold; the next bill run bills everything then due (409 when not held)."""

    async def step(uow: UnitOfWork) -> Any:
        row = await steps.release_billing(uow, order_id)
        return order_out(row)

    return await execute(request, who, runtime.uow, step)


@router.post("/orders/{order_id}/billing-date-override", response_model=OrderOut)
async def override_billing_date(
    order_id: str,
    body: BillingDateOverrideIn,
    request: Request,
    runtime: RuntimeDep,
    who: Operator,
) -> JSONResponse:
    """Bill nothing of the order on a run before `next_billing_date` (W17)."""

    async def step(uow: UnitOfWork) -> Any:
        row = await steps.override_billing_date(uow, order_id, body.next_billing_date)
        return order_out(row)

    return await execute(request, who, runtime.uow, step, body=body)
