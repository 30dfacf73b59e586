"""Orders into billing schedules: the fold from order items to subscriptions.

Pure: given the subscriptions billing knows and one order, the subscriptions
after it. The rules (BILLING_RULES.md 4, 5):
- new: each item starts a subscription with one term [start, end] at its quantity;
- amendment: an item for a known subscription changes its quantity from the
  effective date (its unit price stays); an item for an unknown one adds a
  co-terminated subscription on the contract's BCD (W12);
- renewal: each item adds a term from the renewal start at its quantity (W15);
- termination: each item sets the quantity to 0 from T, the first day without
  service, crediting unused billed days when the order says so (W13, W14).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from billing.domain.errors import OrderDoesNotFit
from billing.domain.schedule import (
    BillingPeriod,
    BillingTiming,
    ChargeType,
    QuantityChange,
    Subscription,
    Term,
)

OrderKind = Literal["new", "amendment", "renewal", "termination"]


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One order item: what changes for one subscription from `start_date`."""

    subscription_id: str
    sku: str
    name: str
    charge_type: ChargeType
    billing_period: BillingPeriod | None
    quantity_delta: int
    quantity: int
    unit_price: int
    start_date: date
    end_date: date


@dataclass(frozen=True, slots=True)
class BillingOrder:
    """An order as billing takes it in; `event_id` is its OrderActivated event."""

    order_id: str
    contract_id: str
    account_id: str
    kind: OrderKind
    currency: str
    effective_date: date
    bill_cycle_day: int
    billing_timing: BillingTiming
    contract_end_date: date
    credit_unused: bool
    items: tuple[OrderLine, ...]
    event_id: str


def schedule_order(
    known: Mapping[str, Subscription], order: BillingOrder, sequence: int
) -> list[Subscription]:
    """The subscriptions `order` creates or changes, as they stand after it.

    `known` holds at least every subscription the order's items name that billing
    has seen; `sequence` orders this order's changes after earlier ones of the
    same date. Raises OrderDoesNotFit for a new subscription billing already has,
    or a termination of one it never had.
    """
    result: list[Subscription] = []
    for item in order.items:
        current = known.get(item.subscription_id)
        change = QuantityChange(
            effective_date=item.start_date,
            quantity=item.quantity,
            order_id=order.order_id,
            event_id=order.event_id,
            sequence=sequence,
            termination=order.kind == "termination",
            credit_unused=order.credit_unused,
        )
        if current is None:
            if order.kind == "termination":
                raise OrderDoesNotFit(order.order_id, item.subscription_id, "never scheduled")
            result.append(_new_subscription(order, item, change))
        elif order.kind == "new":
            raise OrderDoesNotFit(order.order_id, item.subscription_id, "scheduled already")
        elif order.kind == "renewal":
            term = Term(item.start_date, item.end_date, order.order_id)
            result.append(
                replace(current, terms=(*current.terms, term), changes=(*current.changes, change))
            )
        else:
            result.append(replace(current, changes=(*current.changes, change)))
    return result


def _new_subscription(order: BillingOrder, item: OrderLine, change: QuantityChange) -> Subscription:
    return Subscription(
        subscription_id=item.subscription_id,
        account_id=order.account_id,
        contract_id=order.contract_id,
        currency=order.currency,
        sku=item.sku,
        name=item.name,
        charge_type=item.charge_type,
        billing_period=item.billing_period,
        unit_price=item.unit_price,
        bill_cycle_day=order.bill_cycle_day,
        billing_timing=order.billing_timing,
        terms=(Term(item.start_date, item.end_date, order.order_id),),
        changes=(change,),
    )


def subscriptions_named(order: BillingOrder) -> Sequence[str]:
    """The subscription ids the order's items name, in item order."""
    return [item.subscription_id for item in order.items]
