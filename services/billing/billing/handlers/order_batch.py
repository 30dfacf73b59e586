"""The batch reaction to OrderActivated: a run of activated orders scheduled at once.

The consumer hands it consecutive OrderActivated events of one fetch, inside its
unit of work. The effect is the one-event handler's (handlers/upstream.py)
applied to each in turn: every order becomes billing's OrderScheduled, version 1
of the order's stream, caused by its upstream event. It locks the accounts'
rows, appends the new streams with one insert per table and projects them with
the batch projector. An order billing scheduled already (before or earlier in
the run) raises OrderDoesNotFit; the consumer then applies the run one event at
a time, so only that event is dead-lettered.
"""

from __future__ import annotations

from collections.abc import Sequence

from revline_events.catalogue import EventPayload, make_envelope
from revline_events.clock import Clock
from revline_events.consumer import BatchHandler
from revline_events.envelope import Envelope
from revline_events.payloads.order import OrderActivated
from revline_events.unit_of_work import UnitOfWork

from billing.domain.errors import OrderDoesNotFit
from billing.store.order_batch import scheduled_order_ids
from billing.store.schedules import lock_accounts
from billing.translation import scheduled_from

SERVICE = "billing"


def order_batch_handlers(clock: Clock) -> dict[str, BatchHandler]:
    """The consumer's batch handlers by upstream event type; `clock` stamps billing's events."""

    async def activated(uow: UnitOfWork, items: Sequence[tuple[Envelope, EventPayload]]) -> None:
        orders: list[tuple[Envelope, OrderActivated]] = []
        for envelope, event in items:
            if not isinstance(event, OrderActivated):
                raise TypeError(f"{envelope.type} parsed as {type(event).__name__}")
            orders.append((envelope, event))
        await lock_accounts(uow.session, sorted({event.account_id for _, event in orders}))
        order_ids = [event.order_id for _, event in orders]
        taken = await scheduled_order_ids(uow.session, order_ids)
        seen: set[str] = set()
        for order_id in order_ids:
            if order_id in taken or order_id in seen:
                raise OrderDoesNotFit(order_id, "-", "the order was scheduled already")
            seen.add(order_id)
        scheduled = [
            make_envelope(
                scheduled_from(event, cause.event_id),
                stream_id=event.order_id,
                stream_version=1,
                account_id=event.account_id,
                producer=SERVICE,
                clock=clock,
                correlation_id=cause.correlation_id,
                causation_id=cause.event_id,
                effective_date=cause.effective_date,
            )
            for cause, event in orders
        ]
        await uow.record_new_streams(scheduled)

    return {"OrderActivated": activated}
