"""From domain results to the published events of contract.events, and recording them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from revline_events.catalogue import EventPayload, make_envelope
from revline_events.clock import Clock
from revline_events.payloads.contract import SubscriptionData
from revline_events.unit_of_work import UnitOfWork

from contract.domain.contract import Subscription

SERVICE = "contract"


def subscription_data(subscription: Subscription, quantity: int | None = None) -> SubscriptionData:
    """The published form of a subscription; quantity defaults to the one in force at its end."""
    return SubscriptionData(
        subscription_id=subscription.id,
        sku=subscription.sku,
        name=subscription.name,
        charge_type=subscription.charge_type,
        billing_period=subscription.billing_period,
        quantity=subscription.quantity_on(subscription.end_date) if quantity is None else quantity,
        unit_price=subscription.unit_price,
        start_date=subscription.start_date,
        end_date=subscription.end_date,
    )


async def record(
    uow: UnitOfWork,
    *,
    stream_id: str,
    account_id: str,
    version: int,
    events: Sequence[tuple[EventPayload, date | None]],
    clock: Clock,
    correlation_id: str | None,
    causation_id: str | None = None,
) -> None:
    """Append `events` (each with its effective date) to one stream at `version`, and project.

    Raises ConcurrencyConflict when another writer moved the stream first.
    """
    envelopes = [
        make_envelope(
            payload,
            stream_id=stream_id,
            stream_version=version + number,
            account_id=account_id,
            producer=SERVICE,
            clock=clock,
            correlation_id=correlation_id,
            causation_id=causation_id,
            effective_date=effective_date,
        )
        for number, (payload, effective_date) in enumerate(events, start=1)
    ]
    await uow.record(envelopes, expected_version=version)
