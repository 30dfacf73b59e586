"""Request and response bodies of the contract API; strict, so a typo is an error."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt
from revline_events.envelope import ACCOUNT_ID_PATTERN
from revline_service.fields import BusinessDate, UtcTimestamp

from contract.domain.contract import ContractStatus, QuantityChange, quantity_on

AccountId = Annotated[str, Field(pattern=ACCOUNT_ID_PATTERN, examples=["acme"])]
# Opaque ids chosen by a service: printable ASCII, no spaces (a NUL would fail PostgreSQL).
Id = Annotated[str, Field(pattern=r"^[!-~]{1,64}$")]
TermMonths = Annotated[StrictInt, Field(ge=1, le=120)]
# Wide enough for any contract; narrow enough that terms stay in the calendar.


class Strict(BaseModel):
    """Request bodies refuse unknown fields, so a typo is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid")


class TerminateIn(Strict):
    """POST /v1/contracts/{id}/terminate."""

    effective_date: BusinessDate = Field(description="T, the first day without service")
    credit_unused: StrictBool = Field(
        description="credit the billed, unused part of each period from T (BILLING_RULES §5)"
    )


class RenewIn(Strict):
    """POST /v1/contracts/{id}/renew (the body is optional)."""

    term_months: TermMonths | None = Field(
        default=None, description="length of the new term; default: the current term's"
    )


class RenewalRunIn(Strict):
    """POST /v1/renewal-runs."""

    as_of: BusinessDate


class QuantityChangeOut(BaseModel):
    """A subscription's quantity from a date on (0: removed)."""

    effective_date: date
    quantity: int


class SubscriptionOut(BaseModel):
    """A subscription; `quantity` is the one in force today, within its start and end."""

    id: str
    sku: str
    name: str
    charge_type: Literal["recurring", "one_time"]
    billing_period: Literal["month", "quarter", "half_year", "year"] | None
    quantity: int
    unit_price: int = Field(description="net unit price, minor units per unit and period")
    start_date: date
    end_date: date = Field(description="last day of service, inclusive")
    quantity_changes: list[QuantityChangeOut]


class AmendmentOut(BaseModel):
    """An amendment quote applied to the contract."""

    quote_id: str
    effective_date: date


class RenewalOut(BaseModel):
    """A renewal term; quote_id is null for a renewal by request or by a renewal run."""

    quote_id: str | None
    term_start: date
    term_end: date
    term_months: int


class ContractOut(BaseModel):
    """A contract as the API shows it."""

    id: str
    account_id: str
    quote_id: str
    currency: str
    status: ContractStatus
    start_date: date
    end_date: date = Field(description="last day of service, inclusive")
    term_start: date = Field(description="first day of the current term")
    term_months: int = Field(description="length of the current term")
    bill_cycle_day: int
    billing_timing: Literal["advance", "arrears"]
    auto_renew: bool
    terminated_on: date | None = Field(description="T, the first day without service")
    credit_unused: bool | None
    subscriptions: list[SubscriptionOut]
    amendments: list[AmendmentOut]
    renewals: list[RenewalOut]
    version: int
    created_at: UtcTimestamp
    updated_at: UtcTimestamp


class RenewalRunOut(BaseModel):
    """A renewal run: the contracts it renewed and expired (ids, in id order)."""

    id: str
    as_of: date
    renewed: list[str]
    expired: list[str]
    created_at: UtcTimestamp


def contract_out(row: dict[str, Any], today: date) -> ContractOut:
    """Shape a stored contract for the API, with each subscription's quantity as of `today`.

    Before a subscription starts it shows its first quantity; after it ends, the
    quantity it ended with.
    """
    subscriptions = []
    for sub in row["subscriptions"]:
        changes = [
            QuantityChange(c["effective_date"], c["quantity"]) for c in sub["quantity_changes"]
        ]
        day = min(max(today, sub["start_date"]), sub["end_date"])
        subscriptions.append(
            SubscriptionOut.model_validate({**sub, "quantity": quantity_on(changes, day)})
        )
    return ContractOut.model_validate(
        {**row, "version": row["stream_version"], "subscriptions": subscriptions}
    )
