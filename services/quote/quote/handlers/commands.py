"""Commands the quote service accepts: plain data, validated at the API boundary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from revline_events.payloads.quote import BillingPeriod, ChargeType


@dataclass(frozen=True)
class DefineProduct:
    """Add a product to the price book."""

    sku: str
    name: str
    currency: str
    unit_price: int
    charge_type: ChargeType
    billing_period: BillingPeriod | None


@dataclass(frozen=True)
class LineInput:
    """A requested quote line; unit_price None takes the product's list price."""

    sku: str
    quantity: int
    unit_price: int | None = None
    discount_percent: Decimal | None = None
    subscription_id: str | None = None


@dataclass(frozen=True)
class QuoteTerms:
    """The terms of a quote, as given (bill_cycle_day None: the start date's day)."""

    kind: str
    contract_id: str | None
    start_date: date
    term_months: int | None
    bill_cycle_day: int | None
    billing_timing: str
    auto_renew: bool


@dataclass(frozen=True)
class CreateQuote:
    """Create a draft quote for an account."""

    account_id: str
    currency: str
    terms: QuoteTerms
    lines: list[LineInput] = field(default_factory=list)


@dataclass(frozen=True)
class ReviseQuote:
    """Edit a draft quote: fields left None keep their value; lines are replaced whole."""

    quote_id: str
    start_date: date | None = None
    term_months: int | None = None
    bill_cycle_day: int | None = None
    billing_timing: str | None = None
    auto_renew: bool | None = None
    lines: list[LineInput] | None = None
