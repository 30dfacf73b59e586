"""Orders: one per contract change, each item what changes for one subscription.

Pure functions from a contract change (and the contract as it stood) to the
order billing acts on. Dates are inclusive; prices in minor units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Literal

from order.domain.contract import (
    BillingPeriod,
    BillingTiming,
    ChargeType,
    Contract,
    Subscription,
)

OrderKind = Literal["new", "amendment", "renewal", "termination"]


class OrderStatus(StrEnum):
    """Orders are activated as they are recorded (holds are billing controls, not states)."""

    ACTIVATED = "activated"


@dataclass(frozen=True, slots=True)
class OrderItem:
    """What changes for one subscription, from `start_date` to `end_date` (inclusive).

    `quantity` is the quantity in force from `start_date`; `quantity_delta` is
    that quantity minus the one before (a new subscription: its quantity; a
    termination: minus its quantity).
    """

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
class Order:
    """One contract change as billing acts on it, from `effective_date`.

    Carries the contract terms billing needs (currency, bill cycle day, timing,
    the contract's end date after the change), so billing needs nothing else.
    `credit_unused` is set on terminations that credit the unused part of
    billed spans.
    """

    kind: OrderKind
    contract_id: str
    account_id: str
    currency: str
    effective_date: date
    bill_cycle_day: int
    billing_timing: BillingTiming
    contract_end_date: date
    credit_unused: bool
    items: tuple[OrderItem, ...]


@dataclass(frozen=True, slots=True)
class QuantityChange:
    """An amendment's change to one subscription (quantity_after 0 removes it)."""

    subscription: Subscription  # as it stands after the change
    quantity_before: int  # 0 for a subscription the amendment adds
    quantity_after: int


def _item(
    subscription: Subscription, *, delta: int, quantity: int, start: date, end: date
) -> OrderItem:
    return OrderItem(
        subscription_id=subscription.subscription_id,
        sku=subscription.sku,
        name=subscription.name,
        charge_type=subscription.charge_type,
        billing_period=subscription.billing_period,
        quantity_delta=delta,
        quantity=quantity,
        unit_price=subscription.unit_price,
        start_date=start,
        end_date=end,
    )


def _order(
    kind: OrderKind,
    contract: Contract,
    effective_date: date,
    contract_end_date: date,
    items: Sequence[OrderItem],
    *,
    credit_unused: bool = False,
) -> Order:
    return Order(
        kind=kind,
        contract_id=contract.contract_id,
        account_id=contract.account_id,
        currency=contract.currency,
        effective_date=effective_date,
        bill_cycle_day=contract.bill_cycle_day,
        billing_timing=contract.billing_timing,
        contract_end_date=contract_end_date,
        credit_unused=credit_unused,
        items=tuple(items),
    )


def new_business_order(contract: Contract) -> Order:
    """The order of a new contract: every subscription from its own start to its own end."""
    items = [
        _item(s, delta=s.quantity, quantity=s.quantity, start=s.start_date, end=s.end_date)
        for s in contract.subscriptions
    ]
    return _order("new", contract, contract.start_date, contract.end_date, items)


def amendment_order(
    contract: Contract, effective_date: date, changes: Sequence[QuantityChange]
) -> Order:
    """The order of an amendment: an item per change, from `effective_date` to the
    subscription's end, at the subscription's unit price (BILLING_RULES.md 4)."""
    items = [
        _item(
            change.subscription,
            delta=change.quantity_after - change.quantity_before,
            quantity=change.quantity_after,
            start=effective_date,
            end=change.subscription.end_date,
        )
        for change in changes
    ]
    return _order("amendment", contract, effective_date, contract.end_date, items)


def renewal_order(
    contract: Contract, term_start: date, term_end: date, subscriptions: Sequence[Subscription]
) -> Order:
    """The order of a renewal: the new term's subscriptions as new service over the term.

    Nothing of the new term is billed yet, so each item's delta is its whole
    quantity, as on a new contract; billing computes the term's spans from
    `term_start` (BILLING_RULES.md 5, W15).
    """
    items = [
        _item(s, delta=s.quantity, quantity=s.quantity, start=term_start, end=term_end)
        for s in subscriptions
    ]
    return _order("renewal", contract, term_start, term_end, items)


def termination_order(
    contract: Contract, effective_date: date, end_date: date, credit_unused: bool
) -> Order:
    """The order of a termination: every recurring subscription still in force on
    `effective_date` (T, the first day without service) goes from its quantity
    on T to 0.

    Each item runs from T to the subscription's end before the termination: the
    service given up, which billing credits when `credit_unused` (BILLING_RULES.md 5).
    One-time charges have nothing left to stop and get no item. `end_date` is
    the contract's new end (T - 1).
    """
    items = [
        _item(
            s,
            delta=-s.quantity_on(effective_date),
            quantity=0,
            start=effective_date,
            end=s.end_date,
        )
        for s in contract.subscriptions
        if s.in_force_on(effective_date)
    ]
    return _order(
        "termination", contract, effective_date, end_date, items, credit_unused=credit_unused
    )
