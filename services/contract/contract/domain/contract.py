"""The contract aggregate as the rules see it: terms, subscriptions and their quantities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Literal

from revline_pricing.calendar import term_end

from contract.domain.errors import (
    AccountMismatch,
    ContractNotActive,
    CurrencyMismatch,
    InvalidQuote,
)

ChargeType = Literal["recurring", "one_time"]
BillingPeriod = Literal["month", "quarter", "half_year", "year"]


class ContractStatus(StrEnum):
    """Where a contract is in its life; terminated and expired are final."""

    ACTIVE = "active"
    TERMINATED = "terminated"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class QuantityChange:
    """A subscription's quantity from `effective_date` on (0: removed)."""

    effective_date: date
    quantity: int


def quantity_on(changes: Sequence[QuantityChange], day: date) -> int:
    """The quantity in force on `day`: that of the last change on or before it.

    `changes` are in date order, the first on the subscription's start date; before
    that start the first quantity is shown (what was contracted). 0 when there is none.
    """
    if not changes:
        return 0
    quantity = changes[0].quantity
    for change in changes:
        if change.effective_date > day:
            break
        quantity = change.quantity
    return quantity


@dataclass(frozen=True, slots=True)
class Subscription:
    """One product sold on a contract, at a net unit price (minor units per unit and period).

    `end_date` is the last day of service, inclusive; a one-time charge has
    end_date == start_date. `quantities` is the quantity history in date order.
    """

    id: str
    sku: str
    name: str
    charge_type: ChargeType
    billing_period: BillingPeriod | None
    unit_price: int
    start_date: date
    end_date: date
    quantities: tuple[QuantityChange, ...]

    @property
    def is_recurring(self) -> bool:
        """True for a recurring charge (it has a billing period and renews)."""
        return self.charge_type == "recurring"

    @property
    def latest_quantity(self) -> int:
        """The quantity of the last recorded change (the one in force at its end)."""
        return self.quantities[-1].quantity if self.quantities else 0

    @property
    def is_removed(self) -> bool:
        """True once an amendment set its quantity to 0: nothing may change it again."""
        return self.latest_quantity == 0

    def quantity_on(self, day: date) -> int:
        """The quantity in force on `day` (see the module function quantity_on)."""
        return quantity_on(self.quantities, day)

    def with_quantity(self, effective_date: date, quantity: int) -> Subscription:
        """This subscription with `quantity` from `effective_date` (replacing a same-day change)."""
        kept = tuple(c for c in self.quantities if c.effective_date != effective_date)
        changes = sorted(
            (*kept, QuantityChange(effective_date, quantity)), key=lambda c: c.effective_date
        )
        return replace(self, quantities=tuple(changes))


@dataclass(frozen=True, slots=True)
class AmendmentRef:
    """An amendment quote applied to the contract, and the date it took effect."""

    quote_id: str
    effective_date: date


@dataclass(frozen=True, slots=True)
class Contract:
    """A contract and everything its rules need; `version` is its stream version.

    The contract runs from start_date through end_date (inclusive); the current
    term runs from term_start (start_date until a renewal) for term_months months.
    """

    id: str
    account_id: str
    quote_id: str
    currency: str
    status: ContractStatus
    start_date: date
    end_date: date
    term_start: date
    term_months: int
    bill_cycle_day: int
    billing_timing: str
    auto_renew: bool
    subscriptions: tuple[Subscription, ...]
    amendments: tuple[AmendmentRef, ...] = ()
    renewal_quote_ids: tuple[str, ...] = ()
    version: int = 0

    def subscription(self, subscription_id: str) -> Subscription | None:
        """The subscription with this id, or None."""
        return next((s for s in self.subscriptions if s.id == subscription_id), None)

    def ensure_active(self, action: str) -> None:
        """Raise ContractNotActive unless the contract is active."""
        if self.status is not ContractStatus.ACTIVE:
            raise ContractNotActive(self.id, self.status.value, action)

    def ensure_fits(self, account_id: str, currency: str) -> None:
        """Raise AccountMismatch or CurrencyMismatch when a quote is not for this contract."""
        if account_id != self.account_id:
            raise AccountMismatch(self.id, self.account_id, account_id)
        if currency != self.currency:
            raise CurrencyMismatch(self.id, self.currency, currency)


@dataclass(frozen=True, slots=True)
class NewLine:
    """A line of an accepted new quote: one subscription each."""

    subscription_id: str
    sku: str
    name: str
    charge_type: ChargeType
    billing_period: BillingPeriod | None
    quantity: int
    unit_price: int


@dataclass(frozen=True, slots=True)
class NewContract:
    """The terms of an accepted new-business quote."""

    contract_id: str
    account_id: str
    quote_id: str
    currency: str
    start_date: date
    term_months: int
    bill_cycle_day: int
    billing_timing: str
    auto_renew: bool
    lines: Sequence[NewLine] = field(default_factory=tuple)


def open_contract(terms: NewContract, quoted_end: date | None = None) -> Contract:
    """The contract an accepted new quote makes: one subscription per line.

    end_date = term_end(start, term_months). Every subscription starts on the start
    date; a recurring one ends with the contract, a one-time one on its start date.
    Raises InvalidQuote for no lines, a quantity below 1, a negative price, a term
    under one month, a recurring line without a billing period, or a `quoted_end`
    (the quote's own end_date) that disagrees with the term.
    """
    if terms.term_months < 1:
        raise InvalidQuote(f"term_months must be at least 1, got {terms.term_months}")
    if not 1 <= terms.bill_cycle_day <= 31:
        raise InvalidQuote(f"bill_cycle_day must be in 1..31, got {terms.bill_cycle_day}")
    if not terms.lines:
        raise InvalidQuote("a new quote needs at least one line")
    end = term_end(terms.start_date, terms.term_months)
    if quoted_end is not None and quoted_end != end:
        raise InvalidQuote(f"the quote ends on {quoted_end}, its term on {end}")
    subscriptions = tuple(_subscription(line, terms.start_date, end) for line in terms.lines)
    return Contract(
        id=terms.contract_id,
        account_id=terms.account_id,
        quote_id=terms.quote_id,
        currency=terms.currency,
        status=ContractStatus.ACTIVE,
        start_date=terms.start_date,
        end_date=end,
        term_start=terms.start_date,
        term_months=terms.term_months,
        bill_cycle_day=terms.bill_cycle_day,
        billing_timing=terms.billing_timing,
        auto_renew=terms.auto_renew,
        subscriptions=subscriptions,
    )


def new_subscription(
    subscription_id: str,
    sku: str,
    name: str,
    charge_type: ChargeType,
    billing_period: BillingPeriod | None,
    quantity: int,
    unit_price: int,
    *,
    start: date,
    contract_end: date,
) -> Subscription:
    """A subscription from `start`: recurring ones run to `contract_end`, one-time ones a day.

    Raises InvalidQuote for a quantity below 1, a negative unit price, or a recurring
    charge without a billing period.
    """
    if quantity < 1:
        raise InvalidQuote(f"line {sku}: quantity must be at least 1, got {quantity}")
    if unit_price < 0:
        raise InvalidQuote(f"line {sku}: unit price must not be negative, got {unit_price}")
    if charge_type == "recurring" and billing_period is None:
        raise InvalidQuote(f"line {sku}: a recurring charge needs a billing period")
    return Subscription(
        id=subscription_id,
        sku=sku,
        name=name,
        charge_type=charge_type,
        billing_period=billing_period if charge_type == "recurring" else None,
        unit_price=unit_price,
        start_date=start,
        end_date=contract_end if charge_type == "recurring" else start,
        quantities=(QuantityChange(start, quantity),),
    )


def _subscription(line: NewLine, start: date, end: date) -> Subscription:
    return new_subscription(
        line.subscription_id, line.sku, line.name, line.charge_type, line.billing_period,
        line.quantity, line.unit_price, start=start, contract_end=end,
    )  # fmt: skip
