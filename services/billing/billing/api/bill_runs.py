"""Routers for bill runs, billing schedules and the upcoming invoice."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from revline_events.unit_of_work import UnitOfWork
from revline_service.auth import Principal, Role, require
from revline_service.fields import BusinessDate
from revline_service.idempotency import run_once
from revline_service.pagination import Page, PageRequest, page_of, page_request
from revline_service.service import Runtime, RuntimeDep

from billing.api.schemas import (
    AccountId,
    BillRunIn,
    BillRunOut,
    PreviewIn,
    ScheduleOut,
    UpcomingDocumentOut,
    UpcomingInvoiceOut,
    bill_run_out,
    schedule_out,
)
from billing.domain.errors import UnknownBillRun
from billing.handlers import bill_runs as runs
from billing.handlers.preview import preview_amendment, upcoming
from billing.settings import BillingSettings
from billing.store import queries
from billing.store.accounts import AccountBooks

router = APIRouter(prefix="/v1", tags=["bill runs"])

Reader = Annotated[Principal, Depends(require(Role.OPS, Role.FINANCE))]
Operator = Annotated[Principal, Depends(require(Role.OPS))]
Paging = Annotated[PageRequest, Depends(page_request)]


def settings_of(runtime: Runtime) -> BillingSettings:
    """The billing settings the runtime was started with."""
    return cast(BillingSettings, runtime.settings)


@router.post(
    "/bill-runs",
    response_model=BillRunOut,
    status_code=201,
    responses={202: {"model": BillRunOut, "description": "started (Prefer: respond-async)"}},
)
async def create_bill_run(
    body: BillRunIn,
    request: Request,
    runtime: RuntimeDep,
    who: Operator,
    prefer: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Bill everything due on or before `as_of` (one account, or all) that is not billed yet.

    Runs to completion before answering (201). With `Prefer: respond-async` it
    answers 202 once the run is recorded, `status: "running"` and a `Location` to
    poll, and bills in the background (a stop or crash resumes it on start-up). The
    same Idempotency-Key answers the same run again, finishing it if a crash
    interrupted it.
    """
    settings = settings_of(runtime)

    async def step(uow: UnitOfWork) -> Any:
        run_id = await runs.start_bill_run(
            uow,
            body.as_of,
            body.account_id,
            batch_size=settings.bill_run_batch_size,
        )
        return {"id": run_id}

    started = await run_once(request, who, runtime.uow, step, body=body, status_code=201)
    if started.status_code != 201:
        return started.response()
    run_id: str = started.body["id"]
    headers = {"Idempotent-Replayed": "true"} if started.replayed else {}
    if prefer is not None and "respond-async" in prefer.lower():
        shown = jsonable_encoder(await _bill_run(runtime, run_id))
        billing = runs.continue_bill_run(
            runtime.uow, run_id, payment_terms_days=settings.payment_terms_days
        )
        runtime.spawn(f"bill run {run_id}", billing)
        headers |= {"Location": f"/v1/bill-runs/{run_id}", "Preference-Applied": "respond-async"}
        return JSONResponse(shown, status_code=202, headers=headers)
    # A 201 promises a finished run: a batch another request holds (the same key sent
    # twice at once, say) is waited for.
    await runs.finish_bill_run(runtime.uow, run_id, payment_terms_days=settings.payment_terms_days)
    return JSONResponse(jsonable_encoder(await _bill_run(runtime, run_id)), 201, headers=headers)


@router.get("/bill-runs", response_model=Page[BillRunOut])
async def list_bill_runs(runtime: RuntimeDep, _: Reader, paging: Paging) -> Page[BillRunOut]:
    """Bill runs, oldest first (document ids: see each run)."""
    async with runtime.db.session() as session:
        rows = await queries.list_bill_runs(session, after=paging.after, limit=paging.limit)
    return page_of([bill_run_out(r) for r in rows], paging, lambda r: [r.id])


@router.get("/bill-runs/{bill_run_id}", response_model=BillRunOut)
async def get_bill_run(bill_run_id: str, runtime: RuntimeDep, _: Reader) -> BillRunOut:
    """One bill run with the ids of its invoices and credit notes."""
    return await _bill_run(runtime, bill_run_id)


async def _bill_run(runtime: Runtime, bill_run_id: str) -> BillRunOut:
    async with runtime.db.session() as session:
        row = await queries.bill_run(session, bill_run_id)
    if row is None:
        raise UnknownBillRun(bill_run_id)
    return bill_run_out(row)


@router.get("/billing-schedules", response_model=Page[ScheduleOut])
async def list_schedules(
    runtime: RuntimeDep,
    _: Reader,
    paging: Paging,
    account_id: Annotated[AccountId | None, Query()] = None,
) -> Page[ScheduleOut]:
    """Per subscription: terms, quantities, the periods billed and the next bill date."""
    async with runtime.db.session() as session:
        rows = await queries.schedules(
            session, account_id=account_id, after=paging.after, limit=paging.limit
        )
    return page_of([schedule_out(r) for r in rows], paging, lambda s: [s.subscription_id])


@router.get("/accounts/{account_id}/upcoming-invoice", response_model=UpcomingInvoiceOut)
async def upcoming_invoice(
    account_id: AccountId,
    runtime: RuntimeDep,
    _: Reader,
    as_of: Annotated[BusinessDate | None, Query()] = None,
) -> UpcomingInvoiceOut:
    """What a bill run as of `as_of` (default: the account's next bill date) would issue,
    computed by the bill run's own code; nothing is written."""
    async with runtime.db.session() as session:
        run_date, documents = await upcoming(
            AccountBooks(session), account_id, as_of, settings_of(runtime).payment_terms_days
        )
    return UpcomingInvoiceOut(
        account_id=account_id,
        as_of=run_date,
        documents=[UpcomingDocumentOut.model_validate(d) for d in documents],
    )


@router.post("/accounts/{account_id}/upcoming-invoice/preview", response_model=UpcomingInvoiceOut)
async def preview_upcoming_invoice(
    account_id: AccountId, body: PreviewIn, runtime: RuntimeDep, _: Reader
) -> UpcomingInvoiceOut:
    """The upcoming invoice had a draft amendment been accepted: for each line, a new
    quantity of a subscription (0 removes it) or a new co-terminated subscription.
    Nothing is written, so the POST is safe to repeat."""
    async with runtime.db.session() as session:
        run_date, documents = await preview_amendment(
            AccountBooks(session),
            account_id,
            body.contract_id,
            body.effective_date,
            [line.model_dump() for line in body.lines],
            body.as_of,
            settings_of(runtime).payment_terms_days,
        )
    return UpcomingInvoiceOut(
        account_id=account_id,
        as_of=run_date,
        documents=[UpcomingDocumentOut.model_validate(d) for d in documents],
    )
