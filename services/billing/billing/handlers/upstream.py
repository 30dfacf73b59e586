"""Reactions to order.events and ledger.events, each recorded as billing's own event.

Each handler runs inside the consumer runner's unit of work (after its inbox
check, before its commit) and reaches the database through billing's
repositories only. It locks the account's row first, so a bill run never plans
from half of an order. A business error it raises dead-letters the event.
OrderActivated has a batch reaction (handlers/order_batch.py).
"""

from __future__ import annotations

from typing import Any

from revline_events.catalogue import EventPayload
from revline_events.payloads.billing import (
    InvoiceSettlementApplied,
    OrderBillingControlChanged,
)
from revline_events.payloads.ledger import InvoiceAmountApplied
from revline_events.payloads.order import (
    OrderActivated,
    OrderBillingDateOverridden,
    OrderBillingHeld,
    OrderBillingReleased,
)
from revline_events.reactions import Reactions
from revline_events.received import Received
from revline_events.unit_of_work import UnitOfWork

from billing.domain.errors import OrderDoesNotFit
from billing.domain.settlement import settle
from billing.handlers.ledger_adjustments import add_ledger_adjustments
from billing.handlers.order_batch import schedule_activated_orders
from billing.store.schedules import Schedules
from billing.store.settlements import Settlements


def upstream_reactions() -> Reactions:
    """The consumer's reactions to upstream events, by payload class."""
    reactions = Reactions()

    async def record(
        uow: UnitOfWork,
        cause: Received[Any],
        event: EventPayload,
        *,
        stream_id: str,
        version: int,
        account_id: str,
    ) -> None:
        await uow.record(
            [event],
            stream_id=stream_id,
            account_id=account_id,
            expected_version=version,
            cause=cause,
            effective_date=cause.effective_date,
        )

    reactions.add_batch(OrderActivated, schedule_activated_orders)

    async def control(
        uow: UnitOfWork, received: Received[Any], order_id: str, account_id: str, **change: Any
    ) -> None:
        envelope = received.envelope
        schedules = uow.repository(Schedules)
        await schedules.lock_accounts([account_id])
        row = await schedules.order_control(order_id)
        if row is None:
            raise OrderDoesNotFit(order_id, "-", f"{envelope.type} for an order never scheduled")
        state = {
            "held": row["held"],
            "hold_reason": row["hold_reason"],
            "next_billing_date": row["next_billing_date"],
        }
        state.update(change)
        event = OrderBillingControlChanged(
            order_id=order_id,
            account_id=row["account_id"],
            source_event_id=envelope.event_id,
            **state,
        )
        await record(
            uow,
            received,
            event,
            stream_id=order_id,
            version=row["stream_version"],
            account_id=row["account_id"],
        )

    @reactions.on(OrderBillingHeld)
    async def held(received: Received[OrderBillingHeld], uow: UnitOfWork) -> None:
        event = received.payload
        await control(
            uow, received, event.order_id, event.account_id, held=True, hold_reason=event.reason
        )

    @reactions.on(OrderBillingReleased)
    async def released(received: Received[OrderBillingReleased], uow: UnitOfWork) -> None:
        event = received.payload
        await control(uow, received, event.order_id, event.account_id, held=False, hold_reason=None)

    @reactions.on(OrderBillingDateOverridden)
    async def overridden(received: Received[OrderBillingDateOverridden], uow: UnitOfWork) -> None:
        event = received.payload
        await control(
            uow,
            received,
            event.order_id,
            event.account_id,
            next_billing_date=event.next_billing_date,
        )

    @reactions.on(InvoiceAmountApplied)
    async def applied(received: Received[InvoiceAmountApplied], uow: UnitOfWork) -> None:
        envelope, event = received.envelope, received.payload
        invoice = await uow.repository(Settlements).invoice(event.invoice_id)
        outcome = settle(invoice, event.invoice_id, event.currency, event.amount)
        settled = InvoiceSettlementApplied(
            invoice_id=event.invoice_id,
            account_id=outcome.account_id,
            currency=event.currency,
            amount=event.amount,
            source=event.source,
            applied_on=event.applied_on,
            amount_paid=outcome.amount_paid,
            amount_due=outcome.amount_due,
            status=outcome.status,
            source_event_id=envelope.event_id,
        )
        assert invoice is not None  # settle refused an unknown invoice
        await record(
            uow,
            received,
            settled,
            stream_id=event.invoice_id,
            version=invoice["stream_version"],
            account_id=outcome.account_id,
        )

    add_ledger_adjustments(reactions)
    return reactions
