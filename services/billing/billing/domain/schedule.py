"""A subscription's billing schedule: what billing knows of it, folded from its orders.

A subscription has one or more terms (the first from its order, one more per
renewal), a timeline of quantity changes (each from an order item: the start,
amendments, renewals, a termination to 0) and the orders' billing controls.
Everything billable is derived from this and from what was billed already
(domain/planning.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

ChargeType = Literal["recurring", "one_time"]
BillingPeriod = Literal["month", "quarter", "half_year", "year"]
BillingTiming = Literal["advance", "arrears"]
LineKind = Literal["recurring", "proration", "credit", "one_time"]


@dataclass(frozen=True, slots=True)
class Term:
    """A stretch of service [start, end] (inclusive) with its own billing-period grid."""

    start: date
    end: date
    order_id: str


@dataclass(frozen=True, slots=True)
class QuantityChange:
    """From `effective_date` on, `quantity` units are in force, set by `order_id`.

    `sequence` orders changes received for the same date (the later one wins);
    `event_id` is the upstream OrderActivated event it came from. A termination is
    a change to 0 with `termination` set; `credit_unused` says whether the
    unused part of billed spans from that date is credited.
    """

    effective_date: date
    quantity: int
    order_id: str
    event_id: str
    sequence: int
    termination: bool = False
    credit_unused: bool = False


@dataclass(frozen=True, slots=True)
class OrderControl:
    """An order's billing controls: on hold, or not before `next_billing_date`."""

    held: bool = False
    next_billing_date: date | None = None

    def allows(self, as_of: date) -> bool:
        """True when a run as of `as_of` may bill the order's items (BILLING_RULES.md 6)."""
        if self.held:
            return False
        return self.next_billing_date is None or as_of >= self.next_billing_date


@dataclass(frozen=True, slots=True)
class Subscription:
    """One subscription as billing keeps it; `billing_period` is None for one-time charges."""

    subscription_id: str
    account_id: str
    contract_id: str
    currency: str
    sku: str
    name: str
    charge_type: ChargeType
    billing_period: BillingPeriod | None
    unit_price: int  # minor units, per unit and billing period (one-time: per unit)
    bill_cycle_day: int
    billing_timing: BillingTiming
    terms: tuple[Term, ...]
    changes: tuple[QuantityChange, ...]

    def ordered_changes(self) -> tuple[QuantityChange, ...]:
        """The quantity changes by effective date, then by the order they were received in."""
        return tuple(sorted(self.changes, key=lambda c: (c.effective_date, c.sequence)))

    def termination(self) -> QuantityChange | None:
        """The (latest) termination of this subscription, if any."""
        ends = [c for c in self.ordered_changes() if c.termination]
        return ends[-1] if ends else None


@dataclass(frozen=True, slots=True)
class BilledCharge:
    """A line already billed for a subscription (void or not: its span stays billed).

    [start, end_exclusive) is the line's period; `span_start` names the billing
    span it belongs to and `nominal_start`/`nominal_end_exclusive` its nominal
    period. `quantity` is positive; the kind gives the sign. `void`: its invoice
    was voided, so its days are forgiven: never billed again, never adjusted.
    """

    kind: LineKind
    span_start: date
    start: date
    end_exclusive: date
    nominal_start: date
    nominal_end_exclusive: date
    quantity: int
    void: bool = False

    @property
    def signed_quantity(self) -> int:
        """The quantity this line added to what is billed (credit lines take away)."""
        return -self.quantity if self.kind == "credit" else self.quantity


@dataclass(frozen=True, slots=True)
class Charge:
    """One line a bill run may bill: what, for which days, how much, and why.

    `start`/`end_exclusive` is the line's period ([start, start+1) for a one-time
    charge); `amount` is signed (credit lines are negative) and already rounded.
    `due_date` is the first `as_of` that bills it (holds and overrides aside);
    `order_id` is the order whose change set its quantity (its provenance), and
    `governing_orders` every order whose controls (hold, override) govern it.
    """

    kind: LineKind
    subscription: Subscription
    span_start: date
    start: date
    end_exclusive: date
    nominal_start: date
    nominal_end_exclusive: date
    quantity: int
    amount: int
    due_date: date
    order_id: str
    event_ids: tuple[str, ...]
    governing_orders: tuple[str, ...]
    quantity_before: int | None = None
    quantity_after: int | None = None
    formula: str = ""
    days: int = field(default=0)
    nominal_days: int = field(default=0)

    def as_billed(self) -> BilledCharge:
        """This charge as a billed line, for the next plan."""
        return BilledCharge(
            kind=self.kind,
            span_start=self.span_start,
            start=self.start,
            end_exclusive=self.end_exclusive,
            nominal_start=self.nominal_start,
            nominal_end_exclusive=self.nominal_end_exclusive,
            quantity=self.quantity,
        )
