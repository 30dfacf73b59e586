"""Hold, release and re-date the billing of an order (ops commands over HTTP).

Each step loads the order, lets the domain decide, records the event on the
order's stream (optimistic concurrency) and answers the order as it now stands.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from revline_events.catalogue import EventPayload
from revline_events.payloads.order import (
    OrderBillingDateOverridden,
    OrderBillingHeld,
    OrderBillingReleased,
)
from revline_events.unit_of_work import UnitOfWork

from order.domain import billing_controls as rules
from order.domain.errors import UnknownOrder
from order.store.queries import Orders, controls_of


async def hold_billing(uow: UnitOfWork, order_id: str, reason: str) -> dict[str, Any]:
    """Put the order's billing on hold; BillingAlreadyHeld when it is held already."""
    order = await _load(uow, order_id)
    rules.hold(controls_of(order))
    event = OrderBillingHeld(order_id=order_id, account_id=order["account_id"], reason=reason)
    await _record(uow, order, event)
    return await _load(uow, order_id)


async def release_billing(uow: UnitOfWork, order_id: str) -> dict[str, Any]:
    """Lift the hold; BillingNotHeld when the order is not on hold."""
    order = await _load(uow, order_id)
    rules.release(controls_of(order))
    event = OrderBillingReleased(order_id=order_id, account_id=order["account_id"])
    await _record(uow, order, event)
    return await _load(uow, order_id)


async def override_billing_date(
    uow: UnitOfWork,
    order_id: str,
    next_billing_date: date,
) -> dict[str, Any]:
    """Bill nothing of the order before `next_billing_date`.

    The override in force already records nothing; a date before the order's
    effective date is refused (OverrideBeforeEffectiveDate).
    """
    order = await _load(uow, order_id)
    if rules.override_billing_date(controls_of(order), next_billing_date):
        event = OrderBillingDateOverridden(
            order_id=order_id, account_id=order["account_id"], next_billing_date=next_billing_date
        )
        await _record(uow, order, event)
    return await _load(uow, order_id)


async def _load(uow: UnitOfWork, order_id: str) -> dict[str, Any]:
    row = await uow.repository(Orders).find(order_id)
    if row is None:
        raise UnknownOrder(order_id)
    return row


async def _record(uow: UnitOfWork, order: dict[str, Any], event: EventPayload) -> None:
    await uow.record(
        [event],
        stream_id=order["id"],
        account_id=order["account_id"],
        expected_version=order["stream_version"],
        cause=None,
    )
