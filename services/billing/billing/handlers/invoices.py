"""Voiding an invoice: the only command on an invoice (BILLING_RULES.md 7)."""

from __future__ import annotations

from datetime import date
from typing import Any

from revline_events.catalogue import make_envelope
from revline_events.clock import Clock
from revline_events.payloads.billing import InvoiceVoided
from revline_events.unit_of_work import UnitOfWork

from billing.domain.errors import UnknownInvoice
from billing.domain.settlement import ensure_voidable
from billing.store import queries
from billing.store.schedules import lock_accounts

SERVICE = "billing"


async def void_invoice(
    uow: UnitOfWork,
    invoice_id: str,
    reason: str | None,
    clock: Clock,
    correlation_id: str | None,
) -> dict[str, Any]:
    """Void a posted invoice with nothing paid and queue InvoiceVoided for the ledger.

    Its number stays taken and its spans stay billed. Raises UnknownInvoice, and
    InvoiceNotVoidable when anything is paid or it is void already.
    """
    invoice = await queries.invoice_row(uow.session, invoice_id)
    if invoice is None:
        raise UnknownInvoice(invoice_id)
    # A bill run plans against the account's voids: take its lock as a run's batch does,
    # and read the invoice again under it.
    await lock_accounts(uow.session, [invoice["account_id"]])
    invoice = await queries.invoice_row(uow.session, invoice_id)
    assert invoice is not None  # invoices are never deleted
    ensure_voidable(invoice)
    voided_on: date = clock.today()
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
    version: int = invoice["stream_version"]
    envelope = make_envelope(
        event,
        stream_id=invoice_id,
        stream_version=version + 1,
        account_id=invoice["account_id"],
        producer=SERVICE,
        clock=clock,
        correlation_id=correlation_id,
        effective_date=voided_on,
    )
    await uow.record([envelope], expected_version=version)
    found = await queries.invoice(uow.session, invoice_id)
    assert found is not None
    return found
