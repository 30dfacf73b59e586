"""The reaction to OrderActivated: a run of activated orders scheduled at once.

The consumer hands it consecutive OrderActivated events of one fetch, inside its
unit of work (a run of one when it retries a failed batch record by record).
Every order becomes billing's OrderScheduled, version 1 of the order's stream,
caused by its own upstream event. It locks the accounts' rows (on PostgreSQL;
on SQLite its write transaction is the lock), so a bill run never plans from
half of an order, and records the new streams at once: one
insert per table, projected by the batch projector. An order billing scheduled
already (before, or earlier in the run) raises OrderDoesNotFit; the consumer
then applies the run one event at a time, so only that event is dead-lettered.
"""

from __future__ import annotations

from collections.abc import Sequence

from revline_events.payloads.order import OrderActivated
from revline_events.received import Received
from revline_events.stamping import NewStream
from revline_events.unit_of_work import UnitOfWork

from billing.domain.errors import OrderDoesNotFit
from billing.store.schedules import Schedules
from billing.translation import scheduled_from


async def schedule_activated_orders(
    orders: Sequence[Received[OrderActivated]], uow: UnitOfWork
) -> None:
    """Schedule each activated order of the run, in order, as billing's OrderScheduled."""
    schedules = uow.repository(Schedules)
    await schedules.hold_accounts(sorted({order.payload.account_id for order in orders}))
    order_ids = [order.payload.order_id for order in orders]
    taken = await schedules.scheduled_order_ids(order_ids)
    seen: set[str] = set()
    for order_id in order_ids:
        if order_id in taken or order_id in seen:
            raise OrderDoesNotFit(order_id, "-", "the order was scheduled already")
        seen.add(order_id)
    await uow.record_new_streams(
        [
            NewStream(
                stream_id=order.payload.order_id,
                account_id=order.payload.account_id,
                payload=scheduled_from(order.payload, order.event_id),
                effective_date=order.effective_date,
                cause=order,
            )
            for order in orders
        ],
        cause=None,
    )
