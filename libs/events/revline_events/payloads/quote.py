"""Events on `quote.events`: the price book and the life of a quote."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from revline_events.catalogue import CATALOGUE, EventPayload

ChargeType = Literal["recurring", "one_time"]
BillingPeriod = Literal["month", "quarter", "half_year", "year"]
QuoteKind = Literal["new", "amendment", "renewal"]
BillingTiming = Literal["advance", "arrears"]

PRICE_BOOK_ACCOUNT = "price-book"  # the account id that keys price-book events


@CATALOGUE.register("ProductCreated", 1)
class ProductCreated(EventPayload):
    """A product was added to the price book."""

    sku: str
    name: str
    currency: str
    unit_price: int  # minor units, for one unit and one billing_period
    charge_type: ChargeType
    billing_period: BillingPeriod | None  # None for one-time products


class QuoteLineData(EventPayload):
    """One priced line of a quote, as every downstream service needs it."""

    line_no: int
    sku: str
    name: str
    charge_type: ChargeType
    billing_period: BillingPeriod | None
    quantity: int
    list_price: int  # minor units: the line's unit_price, else the product's
    discount_percent: str  # decimal string, "12.5"
    net_unit_price: int  # round_half_up(list_price * (1 - discount/100))
    amount_per_period: int  # net_unit_price * quantity
    subscription_id: str | None = None  # amendments: the subscription this line sets


class QuoteTotalsData(EventPayload):
    """Totals of a quote in minor units (BILLING_RULES.md section 1)."""

    recurring_per_period: int
    one_time: int
    total_contract_value: int


class QuoteSnapshot(EventPayload):
    """The whole content of one version of a quote."""

    quote_id: str
    account_id: str
    currency: str
    kind: QuoteKind
    contract_id: str | None
    version: int
    start_date: date  # new: contract start; amendment: effective date; renewal: term start
    term_months: int | None  # new and renewal
    end_date: date | None  # last day of the term, inclusive (new and renewal)
    bill_cycle_day: int
    billing_timing: BillingTiming
    auto_renew: bool
    lines: list[QuoteLineData] = Field(default_factory=list)
    totals: QuoteTotalsData


@CATALOGUE.register("QuoteCreated", 1)
class QuoteCreated(QuoteSnapshot):
    """A draft quote was created (version 1)."""


@CATALOGUE.register("QuoteRevised", 1)
class QuoteRevised(QuoteSnapshot):
    """A draft quote was edited; the snapshot is its new version."""


@CATALOGUE.register("QuotePresented", 1)
class QuotePresented(EventPayload):
    """The quote was presented to the customer."""

    quote_id: str
    account_id: str
    version: int


@CATALOGUE.register("QuoteRejected", 1)
class QuoteRejected(EventPayload):
    """The customer turned the quote down; it is final."""

    quote_id: str
    account_id: str
    version: int


@CATALOGUE.register("QuoteAccepted", 1)
class QuoteAccepted(QuoteSnapshot):
    """The customer accepted the quote: the start of everything downstream.

    Carries every line, price, date and term, so no later service ever asks
    the quote service for anything.
    """

    accepted_on: date
