"""Routers of the two corrections finance makes to receivables: a payment reversed (W21),
an invoice written off (W23). Thin: each a handler call in one unit of work."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from revline_events.unit_of_work import UnitOfWork
from revline_service.auth import Principal, Role, require
from revline_service.fields import CalendarDate, FreeText
from revline_service.idempotency import execute
from revline_service.service import RuntimeDep

from ledger.api.schemas import PaymentOut, payment_out
from ledger.handlers import reversals, write_offs

router = APIRouter(prefix="/v1", tags=["ledger"])

# Finance writes reversals and write-offs (admin too); other roles get a 403.
Writer = Annotated[Principal, Depends(require(Role.FINANCE))]
OpaqueId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[!-~]+$")]


class ReversalIn(BaseModel):
    """POST /v1/payments/{id}/reverse: the payment came back (returned, charged back)."""

    model_config = ConfigDict(extra="forbid")

    reversed_on: CalendarDate
    reason: FreeText


class WriteOffIn(BaseModel):
    """POST /v1/invoices/{invoice_id}/write-off: the invoice will not be collected."""

    model_config = ConfigDict(extra="forbid")

    written_off_on: CalendarDate
    reason: FreeText


class WriteOffOut(BaseModel):
    """An invoice written off: `amount` (its amount due then) went to bad debt (6000)."""

    invoice_id: str
    number: str
    account_id: str
    currency: str
    written_off_on: date
    amount: int
    reason: str
    status: Literal["uncollectible"]
    amount_paid: int
    amount_due: int


@router.post("/payments/{payment_id}/reverse", response_model=PaymentOut)
async def reverse_payment(
    payment_id: OpaqueId, body: ReversalIn, request: Request, runtime: RuntimeDep, who: Writer
) -> JSONResponse:
    """Reverse a payment (W21), dated `reversed_on`: Cr 1000 its amount; the invoices it
    paid, with cash or with credit from its lot, reopen; its unapplied credit is gone.
    404 an unknown payment; 409 reversed already, or some of its credit refunded; 422
    a date before the payment or one of its applications."""

    async def step(uow: UnitOfWork) -> Any:
        row = await reversals.reverse_payment(
            uow, payment_id, reversed_on=body.reversed_on, reason=body.reason
        )
        return payment_out(row)

    return await execute(request, who, runtime.uow, step, body=body)


@router.post("/invoices/{invoice_id}/write-off", response_model=WriteOffOut)
async def write_off(
    invoice_id: OpaqueId, body: WriteOffIn, request: Request, runtime: RuntimeDep, who: Writer
) -> JSONResponse:
    """Write an open invoice off as uncollectible (W23), dated `written_off_on`: Dr 6000 /
    Cr 1100 its amount due; billing then shows it `uncollectible`. 404 an unknown invoice;
    409 one void, paid or uncollectible already; 422 a date before the invoice date."""

    async def step(uow: UnitOfWork) -> Any:
        row = await write_offs.write_off(
            uow, invoice_id, written_off_on=body.written_off_on, reason=body.reason
        )
        return WriteOffOut(**row)

    return await execute(request, who, runtime.uow, step, body=body)
