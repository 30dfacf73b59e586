"""Folds the order service's own events into its projection tables.

The only code that writes projections: consumer handlers, commands and
rebuilds all go through it, so the tables are always a pure function of the
event store.

`PROJECTOR` takes one event or a batch: a run of consecutive new-business
orders of contracts the service has not seen (the consumer's batches of new
contracts, a rebuild) is written with one insert per table; any other event is
applied on its own, in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from revline_events.catalogue import EventPayload
from revline_events.envelope import Envelope
from revline_events.payloads.order import (
    OrderActivated,
    OrderBillingDateOverridden,
    OrderBillingHeld,
    OrderBillingReleased,
)
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from order.domain.contract_state import contract_after
from order.domain.orders import OrderStatus
from order.store.contracts import Contracts
from order.store.tables import order_items, orders
from order.translation import order_of

# The item fields stored per line (a later optional payload field needs a column first).
ITEM_COLUMNS = {c.name for c in order_items.columns} - {"order_id", "line_no"}


async def project(session: AsyncSession, envelope: Envelope, event: EventPayload) -> None:
    """Apply one order-service event to the projections."""
    if isinstance(event, OrderActivated):
        await _activated(session, envelope, event)
        return
    if isinstance(event, OrderBillingHeld):
        controls = {
            "billing_hold": True,
            "hold_reason": event.reason,
            "held_since": envelope.occurred_at,
        }
    elif isinstance(event, OrderBillingReleased):
        controls = {"billing_hold": False, "hold_reason": None, "held_since": None}
    elif isinstance(event, OrderBillingDateOverridden):
        controls = {"next_billing_date_override": event.next_billing_date}
    else:
        return
    await session.execute(
        update(orders)
        .where(orders.c.id == envelope.stream_id)
        .values(**controls, stream_version=envelope.stream_version, updated_at=envelope.occurred_at)
    )


class OrderProjector:
    """`project`, plus a batch path for runs of new-business orders (a `BatchProjector`)."""

    async def __call__(
        self, session: AsyncSession, envelope: Envelope, event: EventPayload
    ) -> None:
        """Apply one event (`project`)."""
        await project(session, envelope, event)

    async def project_batch(
        self, session: AsyncSession, items: Sequence[tuple[Envelope, EventPayload]]
    ) -> None:
        """Apply the events in order, each run of consecutive new-business orders at
        once, with the effect of `project` applied to each in turn."""
        new: list[tuple[Envelope, OrderActivated]] = []
        for envelope, event in items:
            if isinstance(event, OrderActivated) and event.kind == "new":
                new.append((envelope, event))
                continue
            await _many_new(session, new)
            new = []
            await project(session, envelope, event)
        await _many_new(session, new)


PROJECTOR = OrderProjector()


async def _activated(session: AsyncSession, envelope: Envelope, event: OrderActivated) -> None:
    await _insert_orders(session, [(envelope, event)])
    contracts = Contracts(session)
    before = await contracts.load(event.contract_id)
    after = contract_after(order_of(event), before)
    await contracts.save(after, by_order=event.order_id, known=before is not None)


async def _many_new(session: AsyncSession, run: Sequence[tuple[Envelope, OrderActivated]]) -> None:
    """New-business orders, with one insert per table when none of their contracts is
    known yet and each is named once; else one at a time (`project`)."""
    if not run:
        return
    contracts = Contracts(session)
    contract_ids = [event.contract_id for _, event in run]
    if len(set(contract_ids)) < len(run) or await contracts.known(contract_ids):
        for envelope, event in run:
            await _activated(session, envelope, event)
        return
    await _insert_orders(session, run)
    await contracts.add_new(
        [(contract_after(order_of(event), None), event.order_id) for _, event in run]
    )


async def _insert_orders(
    session: AsyncSession, activated: Sequence[tuple[Envelope, OrderActivated]]
) -> None:
    """The orders and their items, one insert per table."""
    await session.execute(insert(orders), [_order_row(e, event) for e, event in activated])
    item_rows = [
        {"order_id": event.order_id, "line_no": number, **item.model_dump(include=ITEM_COLUMNS)}
        for _, event in activated
        for number, item in enumerate(event.items, start=1)
    ]
    if item_rows:
        await session.execute(insert(order_items), item_rows)


def _order_row(envelope: Envelope, event: OrderActivated) -> dict[str, Any]:
    return {
        "id": event.order_id,
        "contract_id": event.contract_id,
        "account_id": event.account_id,
        "kind": event.kind,
        "status": OrderStatus.ACTIVATED,
        "currency": event.currency,
        "effective_date": event.effective_date,
        "bill_cycle_day": event.bill_cycle_day,
        "billing_timing": event.billing_timing,
        "contract_end_date": event.contract_end_date,
        "credit_unused": event.credit_unused,
        "billing_hold": False,
        "hold_reason": None,
        "held_since": None,
        "next_billing_date_override": None,
        "contract_event_id": envelope.causation_id,
        "stream_version": envelope.stream_version,
        "created_at": envelope.occurred_at,
        "updated_at": envelope.occurred_at,
    }
