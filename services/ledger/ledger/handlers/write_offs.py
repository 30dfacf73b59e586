"""Write an open invoice off as uncollectible (finance's request, W23)."""

from __future__ import annotations

from datetime import date
from typing import Any

from revline_events.payloads.ledger import InvoiceWrittenOff
from revline_events.unit_of_work import UnitOfWork

from ledger.domain.errors import InvoiceNotOpen, UnknownInvoice
from ledger.handlers.books import book_fact, open_book
from ledger.store.receivables import Receivables


async def write_off(
    uow: UnitOfWork, invoice_id: str, *, written_off_on: date, reason: str
) -> dict[str, Any]:
    """Dr 6000 / Cr 1100 the invoice's amount due; it becomes `uncollectible` with amount
    due 0 and takes no later payment or credit. Revenue recognition of its lines goes on.

    Raises UnknownInvoice, InvoiceNotOpen (void, paid or uncollectible already),
    DateBeforeCause (before the invoice date); nothing is written then.
    """
    invoice = await uow.repository(Receivables).invoice(invoice_id)
    if invoice is None:
        raise UnknownInvoice(invoice_id)
    opened = await open_book(uow, invoice["account_id"], invoice["currency"])
    record = opened.book.invoice(invoice_id)
    if not record.is_open:  # the step refuses it too; the fact needs the amount first
        raise InvoiceNotOpen(invoice_id, record.status)
    fact = InvoiceWrittenOff(
        invoice_id=invoice_id, account_id=invoice["account_id"], currency=invoice["currency"],
        written_off_on=written_off_on, amount=record.amount_due, reason=reason,
    )  # fmt: skip
    outcome = await book_fact(uow, opened, fact, cause=None, source=invoice_id)
    figures = outcome.invoices[0]
    return {
        **fact.model_dump(),
        "number": invoice["number"],
        "status": figures.status.value,
        "amount_paid": figures.amount_paid,
        "amount_due": figures.amount_due,
    }
