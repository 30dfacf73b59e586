"""Reactions to the ledger's corrections: a reversed payment's applications taken back
(InvoiceAmountUnapplied, W21) and an invoice written off (InvoiceWrittenOff, W23).

Each is recorded on the invoice's stream as billing's own event with the invoice's
figures after it, like InvoiceAmountApplied (handlers/upstream.py). Anything that
does not fit the invoice as billing holds it raises SettlementDoesNotFit: the
consumer dead-letters that event with the reason.
"""

from __future__ import annotations

from typing import Any

from revline_events.catalogue import EventPayload
from revline_events.payloads.billing import InvoiceMarkedUncollectible, InvoiceSettlementReversed
from revline_events.payloads.ledger import InvoiceAmountUnapplied, InvoiceWrittenOff
from revline_events.reactions import Reactions
from revline_events.received import Received
from revline_events.unit_of_work import UnitOfWork

from billing.domain.settlement import ensure_collectible, unsettle
from billing.store.settlements import Settlements


async def _record(
    uow: UnitOfWork, cause: Received[Any], event: EventPayload, invoice: dict[str, Any]
) -> None:
    await uow.record(
        [event],
        stream_id=invoice["id"],
        account_id=invoice["account_id"],
        expected_version=invoice["stream_version"],
        cause=cause,
        effective_date=cause.effective_date,
    )


async def amount_unapplied(received: Received[InvoiceAmountUnapplied], uow: UnitOfWork) -> None:
    """Take the undone application's amount back: amount paid down, the invoice reopens
    (or stays uncollectible with nothing due)."""
    event = received.payload
    invoice = await uow.repository(Settlements).invoice(event.invoice_id)
    reopened = unsettle(invoice, event.invoice_id, event.currency, event.amount)
    assert invoice is not None  # unsettle refused an unknown invoice
    await _record(
        uow,
        received,
        InvoiceSettlementReversed(
            invoice_id=event.invoice_id,
            account_id=reopened.account_id,
            currency=event.currency,
            amount=event.amount,
            source=event.source,
            reversed_on=event.unapplied_on,
            amount_paid=reopened.amount_paid,
            amount_due=reopened.amount_due,
            status=reopened.status,
            source_event_id=received.event_id,
        ),
        invoice,
    )


async def written_off(received: Received[InvoiceWrittenOff], uow: UnitOfWork) -> None:
    """The invoice is uncollectible: nothing more due, nothing more taken, never voided."""
    event = received.payload
    found = await uow.repository(Settlements).invoice(event.invoice_id)
    invoice = dict(ensure_collectible(found, event.invoice_id, event.currency, event.amount))
    await _record(
        uow,
        received,
        InvoiceMarkedUncollectible(
            invoice_id=event.invoice_id,
            account_id=invoice["account_id"],
            currency=event.currency,
            written_off_on=event.written_off_on,
            amount_written_off=event.amount,
            amount_paid=invoice["amount_paid"],
            reason=event.reason,
            source_event_id=received.event_id,
        ),
        invoice,
    )


def add_ledger_adjustments(reactions: Reactions) -> None:
    """Register the reactions to reversals and write-offs."""
    reactions.add(InvoiceAmountUnapplied, amount_unapplied)
    reactions.add(InvoiceWrittenOff, written_off)
