"""Request and response bodies of the order API."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from revline_events.envelope import ACCOUNT_ID_PATTERN
from revline_service.fields import BusinessDate, FreeText, UtcTimestamp

from order.domain.orders import OrderStatus

AccountId = Annotated[str, Field(pattern=ACCOUNT_ID_PATTERN, examples=["acme"])]
# Opaque ids other services chose: printable ASCII, no spaces (a NUL would fail PostgreSQL).
ContractId = Annotated[str, Field(pattern=r"^[!-~]{1,200}$")]
NextBillingDate = BusinessDate
Kind = Literal["new", "amendment", "renewal", "termination"]


class Strict(BaseModel):
    """Request bodies refuse unknown fields, so a typo is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid")


class HoldIn(Strict):
    """POST /v1/orders/{id}/hold."""

    reason: FreeText


class BillingDateOverrideIn(Strict):
    """POST /v1/orders/{id}/billing-date-override."""

    next_billing_date: NextBillingDate


class OrderItemOut(BaseModel):
    """What changes for one subscription; amounts in minor units, dates inclusive."""

    subscription_id: str
    sku: str
    name: str
    charge_type: Literal["recurring", "one_time"]
    billing_period: Literal["month", "quarter", "half_year", "year"] | None
    quantity_delta: int = Field(description="quantity from start_date minus the one before")
    quantity: int = Field(description="the quantity in force from start_date")
    unit_price: int = Field(description="minor units, per unit and billing period")
    start_date: date
    end_date: date


class OrderOut(BaseModel):
    """An order: one contract change, with its billing controls."""

    id: str
    contract_id: str
    account_id: str
    status: OrderStatus
    kind: Kind
    effective_date: date
    currency: str
    bill_cycle_day: int
    billing_timing: Literal["advance", "arrears"]
    contract_end_date: date = Field(description="the contract's last day after this change")
    credit_unused: bool
    items: list[OrderItemOut]
    billing_hold: bool = Field(description="true while billing of the order's items is held")
    hold_reason: str | None
    held_since: UtcTimestamp | None
    next_billing_date_override: date | None = Field(
        description="no bill run before this date bills the order's items"
    )
    created_at: UtcTimestamp
    updated_at: UtcTimestamp


def order_out(row: dict[str, Any]) -> OrderOut:
    """Shape a stored order (with its items) for the API."""
    items = [OrderItemOut.model_validate(item) for item in row["items"]]
    return OrderOut.model_validate({**row, "items": items})
