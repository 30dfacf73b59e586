"""Routers for invoices and credit notes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse
from revline_events.unit_of_work import UnitOfWork
from revline_service.auth import Principal, Role, require
from revline_service.idempotency import execute
from revline_service.pagination import Page, PageRequest, page_of, page_request
from revline_service.service import RuntimeDep

from billing.api.schemas import (
    AccountId,
    CreditNoteOut,
    InvoiceOut,
    OpaqueId,
    VoidIn,
    credit_note_out,
    invoice_out,
)
from billing.domain.errors import UnknownCreditNote, UnknownInvoice
from billing.domain.invoice import InvoiceStatus
from billing.handlers.invoices import void_invoice
from billing.store import queries

router = APIRouter(prefix="/v1", tags=["invoices"])

Reader = Annotated[Principal, Depends(require(Role.OPS, Role.FINANCE))]
Operator = Annotated[Principal, Depends(require(Role.OPS))]
Paging = Annotated[PageRequest, Depends(page_request)]


@router.get("/invoices", response_model=Page[InvoiceOut])
async def list_invoices(
    runtime: RuntimeDep,
    _: Reader,
    paging: Paging,
    account_id: Annotated[AccountId | None, Query()] = None,
    status: Annotated[InvoiceStatus | None, Query()] = None,
    bill_run_id: Annotated[OpaqueId | None, Query()] = None,
) -> Page[InvoiceOut]:
    """Invoices in number order, with their lines."""
    async with runtime.db.session() as session:
        await queries.read_one_snapshot(session, runtime.db.is_postgres)
        rows = await queries.list_invoices(
            session,
            account_id=account_id,
            status=status,
            bill_run_id=bill_run_id,
            after=paging.after,
            limit=paging.limit,
        )
    return page_of([invoice_out(r) for r in rows], paging, lambda i: [i.number])


@router.get("/invoices/{invoice_id}", response_model=InvoiceOut)
async def get_invoice(invoice_id: str, runtime: RuntimeDep, _: Reader) -> InvoiceOut:
    """One invoice: its lines with their provenance (order, events, arithmetic) and
    what was applied to it."""
    async with runtime.db.session() as session:
        await queries.read_one_snapshot(session, runtime.db.is_postgres)
        row = await queries.invoice(session, invoice_id)
    if row is None:
        raise UnknownInvoice(invoice_id)
    return invoice_out(row)


@router.post("/invoices/{invoice_id}/void", response_model=InvoiceOut)
async def void(
    invoice_id: str,
    request: Request,
    runtime: RuntimeDep,
    who: Operator,
    body: Annotated[VoidIn | None, Body()] = None,
) -> JSONResponse:
    """Void an invoice nothing is paid on (409 otherwise); the ledger reverses it.
    Its number stays taken and its periods are not billed again."""

    async def step(uow: UnitOfWork) -> Any:
        row = await void_invoice(uow, invoice_id, body.reason if body else None)
        return invoice_out(row)

    return await execute(request, who, runtime.uow, step, body=body)


@router.get("/credit-notes", response_model=Page[CreditNoteOut])
async def list_credit_notes(
    runtime: RuntimeDep,
    _: Reader,
    paging: Paging,
    account_id: Annotated[AccountId | None, Query()] = None,
    bill_run_id: Annotated[OpaqueId | None, Query()] = None,
) -> Page[CreditNoteOut]:
    """Credit notes in number order, with their lines."""
    async with runtime.db.session() as session:
        await queries.read_one_snapshot(session, runtime.db.is_postgres)
        rows = await queries.list_credit_notes(
            session,
            account_id=account_id,
            bill_run_id=bill_run_id,
            after=paging.after,
            limit=paging.limit,
        )
    return page_of([credit_note_out(r) for r in rows], paging, lambda c: [c.number])


@router.get("/credit-notes/{credit_note_id}", response_model=CreditNoteOut)
async def get_credit_note(credit_note_id: str, runtime: RuntimeDep, _: Reader) -> CreditNoteOut:
    """One credit note with its lines and their provenance."""
    async with runtime.db.session() as session:
        await queries.read_one_snapshot(session, runtime.db.is_postgres)
        row = await queries.credit_note(session, credit_note_id)
    if row is None:
        raise UnknownCreditNote(credit_note_id)
    return credit_note_out(row)
