"""Voiding an invoice: the only command on an invoice (BILLING_RULES.md 7)."""

from __future__ import annotations

from datetime import date
from typing import Any

from revline_events.payloads.billing import InvoiceVoided
from revline_events.unit_of_work import UnitOfWork

from billing.domain.errors import UnknownInvoice
from billing.domain.settlement import ensure_voidable
from billing.store.accounts import AccountBooks
from billing.store.invoices import Invoices


async def void_invoice(
    uow: UnitOfWork,
    invoice_id: str,
    reason: str | None,
) -> dict[str, Any]:
    """Void a posted invoice with nothing paid and queue InvoiceVoided for the ledger.

    Its number stays taken and its spans stay billed. Raises UnknownInvoice, and
    InvoiceNotVoidable when anything is paid or it is void already.
    """
    invoices = uow.repository(Invoices)
    invoice = await invoices.row(invoice_id)
    if invoice is None:
        raise UnknownInvoice(invoice_id)
    # A bill run plans against the account's voids: take its lock as a run's batch does,
    # and read the invoice again under it.
    await uow.repository(AccountBooks).lock([invoice["account_id"]])
    invoice = await invoices.row(invoice_id)
    assert invoice is not None  # invoices are never deleted
    ensure_voidable(invoice)
    voided_on: date = uow.clock.today()
    event = InvoiceVoided(
        invoice_id=invoice_id,
        number=invoice["number"],
        account_id=invoice["account_id"],
        currency=invoice["currency"],
        voided_on=voided_on,
        total=invoice["total"],
        deferred_total=invoice["deferred_total"],
        one_time_total=invoice["one_time_total"],
        reason=reason,
    )
    await uow.record(
        [event],
        stream_id=invoice_id,
        account_id=invoice["account_id"],
        expected_version=invoice["stream_version"],
        cause=None,
        effective_date=voided_on,
    )
    found = await invoices.find(invoice_id)
    assert found is not None
    return found
