"""The order service's view of a contract: what later orders need to know about it.

Built only from the orders this service activated (see contract_state.py), so
it is as rebuildable as the orders themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Literal

ChargeType = Literal["recurring", "one_time"]
BillingPeriod = Literal["month", "quarter", "half_year", "year"]
BillingTiming = Literal["advance", "arrears"]


class ContractStatus(StrEnum):
    """The contract as its orders left it: active, or terminated early."""

    ACTIVE = "active"
    TERMINATED = "terminated"


@dataclass(frozen=True, slots=True)
class QuantityFrom:
    """`quantity` units from `from_date` on, until the subscription's next change."""

    from_date: date
    quantity: int


@dataclass(frozen=True, slots=True)
class Subscription:
    """One subscription: what is sold, how many, at what net unit price, and when.

    `unit_price` is in the currency's minor units, per unit and billing period
    (the whole charge for a one-time product, which has no billing period).
    `end_date` is the last day of service, inclusive. `quantity` is the latest
    quantity; `history`, when known, the quantity from each date on, in date
    order (an amendment may take effect after a later-dated termination's T).
    """

    subscription_id: str
    sku: str
    name: str
    charge_type: ChargeType
    billing_period: BillingPeriod | None  # None for a one-time charge
    quantity: int
    unit_price: int
    start_date: date
    end_date: date
    history: tuple[QuantityFrom, ...] = ()

    def quantity_on(self, day: date) -> int:
        """The quantity in force on `day`; before the first change, the one it starts with."""
        if not self.history:
            return self.quantity
        current = self.history[0].quantity
        for step in self.history:
            if step.from_date > day:
                break
            current = step.quantity
        return current

    def in_force_on(self, day: date) -> bool:
        """True for a recurring subscription with units that would still serve on `day`."""
        return (
            self.charge_type == "recurring" and self.end_date >= day and self.quantity_on(day) > 0
        )


@dataclass(frozen=True, slots=True)
class Contract:
    """A contract as the order service tracks it: terms billing needs, and its subscriptions.

    `end_date` is the last day of service, inclusive. `subscriptions` keep the
    order in which they joined the contract.
    """

    contract_id: str
    account_id: str
    currency: str
    start_date: date
    end_date: date
    bill_cycle_day: int
    billing_timing: BillingTiming
    status: ContractStatus
    subscriptions: tuple[Subscription, ...]

    def subscription(self, subscription_id: str) -> Subscription | None:
        """The subscription with this id, or None."""
        return next((s for s in self.subscriptions if s.subscription_id == subscription_id), None)
