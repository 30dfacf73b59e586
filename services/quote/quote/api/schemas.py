"""Request and response bodies of the quote API; strict, so no float ever becomes money."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator
from revline_events.envelope import ACCOUNT_ID_PATTERN
from revline_service.fields import BusinessDate, Currency, UtcTimestamp

from quote.domain.quote import QuoteStatus

Sku = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$", examples=["SEAT"])]
AccountId = Annotated[str, Field(pattern=ACCOUNT_ID_PATTERN, examples=["acme"])]
MinorUnits = Annotated[StrictInt, Field(ge=0, le=10**15, description="minor units (cents)")]
Quantity = Annotated[StrictInt, Field(ge=0, le=10**9)]
Percent = Annotated[
    str,
    Field(
        # 0 to 100 said as a pattern, so the document states the range too.
        pattern=r"^(0?[0-9]{1,2}(\.[0-9]{1,4})?|100(\.0{1,4})?)$",
        examples=["12.5"],
        description="decimal string, 0 to 100, at most 4 decimals",
    ),
]
ChargeType = Literal["recurring", "one_time"]
BillingPeriod = Literal["month", "quarter", "half_year", "year"]
Kind = Literal["new", "amendment", "renewal"]
Timing = Literal["advance", "arrears"]
BillCycleDay = Annotated[StrictInt, Field(ge=1, le=31)]
TermMonths = Annotated[StrictInt, Field(ge=1, le=120)]
# Opaque ids other services chose: printable ASCII, no spaces (a NUL would fail PostgreSQL).
Id = Annotated[str, Field(pattern=r"^[!-~]{1,64}$")]
ProductName = Annotated[
    str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$", examples=["Seat"])
]
StartDate = BusinessDate


class Strict(BaseModel):
    """Request bodies refuse unknown fields, so a typo is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid")


def _percent(value: str) -> str:
    # The pattern admits only plain decimals ("12.5"); the range is checked here.
    if Decimal(value) > Decimal(100):
        raise ValueError("must be between 0 and 100")
    return value


class ProductIn(Strict):
    """POST /v1/products."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "sku": "SEAT",
                    "name": "Seat",
                    "currency": "USD",
                    "unit_price": 5000,
                    "charge_type": "recurring",
                    "billing_period": "month",
                }
            ]
        },
    )

    sku: Sku
    name: ProductName
    currency: Currency
    unit_price: MinorUnits
    charge_type: ChargeType
    billing_period: BillingPeriod | None = None


class ProductOut(BaseModel):
    """A price-book product."""

    sku: str
    name: str
    currency: str
    unit_price: int
    charge_type: ChargeType
    billing_period: BillingPeriod | None
    created_at: UtcTimestamp


class LineIn(Strict):
    """One requested quote line."""

    sku: Sku
    quantity: Quantity
    unit_price: MinorUnits | None = None
    discount_percent: Percent | None = None
    subscription_id: Id | None = None

    _check_percent = field_validator("discount_percent")(
        lambda v: None if v is None else _percent(v)
    )


class QuoteIn(Strict):
    """POST /v1/quotes."""

    # A whole request as the document's example (a client generator shows it; schemathesis
    # sends it, so a generated run creates a quote it can follow through its links).
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "account_id": "acme",
                    "currency": "USD",
                    "start_date": "2026-01-15",
                    "term_months": 12,
                    "bill_cycle_day": 1,
                    "lines": [{"sku": "SEAT", "quantity": 10, "discount_percent": "10"}],
                }
            ]
        },
    )

    account_id: AccountId
    currency: Currency
    kind: Kind = "new"
    contract_id: Id | None = None
    start_date: StartDate
    term_months: TermMonths | None = None
    bill_cycle_day: BillCycleDay | None = None
    billing_timing: Timing = "advance"
    auto_renew: StrictBool = False
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=200)]


class QuotePatch(Strict):
    """PATCH /v1/quotes/{id}: draft only; lines, when given, replace all lines."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"term_months": 24, "lines": [{"sku": "SEAT", "quantity": 12}]}]
        },
    )

    start_date: StartDate | None = None
    term_months: TermMonths | None = None
    bill_cycle_day: BillCycleDay | None = None
    billing_timing: Timing | None = None
    auto_renew: StrictBool | None = None
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=200)] | None = None


class LineOut(BaseModel):
    """A priced quote line."""

    line_no: int
    sku: str
    name: str
    charge_type: ChargeType
    billing_period: BillingPeriod | None
    quantity: int
    unit_price: int = Field(description="list price of one unit for one period")
    discount_percent: str
    net_unit_price: int
    amount_per_period: int
    subscription_id: str | None


class TotalsOut(BaseModel):
    """Totals in minor units."""

    recurring_per_period: int
    one_time: int
    total_contract_value: int


class QuoteOut(BaseModel):
    """A quote as the API shows it."""

    id: str
    account_id: str
    currency: str
    kind: Kind
    contract_id: str | None
    status: QuoteStatus
    version: int
    start_date: date
    term_months: int | None
    end_date: date | None
    bill_cycle_day: int
    billing_timing: Timing
    auto_renew: bool
    lines: list[LineOut]
    totals: TotalsOut
    created_at: UtcTimestamp
    updated_at: UtcTimestamp
    accepted_on: date | None


def quote_out(row: dict[str, Any]) -> QuoteOut:
    """Shape a stored quote (with its lines) for the API."""
    lines = [
        LineOut.model_validate({**line, "unit_price": line["list_price"]}) for line in row["lines"]
    ]
    totals = TotalsOut(
        recurring_per_period=row["recurring_per_period"],
        one_time=row["one_time"],
        total_contract_value=row["total_contract_value"],
    )
    return QuoteOut.model_validate({**row, "lines": lines, "totals": totals})
