"""Request and response bodies of the billing API (API.md, billing)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from revline_events.envelope import ACCOUNT_ID_PATTERN
from revline_service.fields import BusinessDate, FreeText, UtcTimestamp

from billing.domain.bill_run import BillRunStatus
from billing.domain.invoice import CreditNoteStatus, InvoiceStatus

AccountId = Annotated[str, Field(pattern=ACCOUNT_ID_PATTERN, examples=["acme"])]
OpaqueId = Annotated[str, Field(pattern=r"^[!-~]{1,200}$")]
LineKind = Literal["recurring", "proration", "credit", "one_time"]


class Strict(BaseModel):
    """Request bodies refuse unknown fields, so a typo is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid")


class BillRunIn(Strict):
    """POST /v1/bill-runs: bill everything due on or before `as_of`."""

    as_of: BusinessDate
    account_id: AccountId | None = None


class VoidIn(Strict):
    """POST /v1/invoices/{id}/void (the body is optional)."""

    reason: FreeText | None = None


class BatchProgress(BaseModel):
    """How far a run is: batches of accounts billed, of all it had to bill."""

    total: int
    done: int


class BillRunOut(BaseModel):
    """A bill run; `status` is `running` until every account it had to bill is billed."""

    id: str
    as_of: date
    account_id: str | None
    status: BillRunStatus
    invoice_ids: list[str]
    credit_note_ids: list[str]
    invoice_count: int
    credit_note_count: int
    created_at: UtcTimestamp
    completed_at: UtcTimestamp | None
    batches: BatchProgress | None = Field(
        default=None, description="on a single run (not in lists): batches total and done"
    )


class LineSourceOut(BaseModel):
    """Why a line has its amount: the order and event behind it and the arithmetic."""

    order_id: str
    order_event_ids: list[str]
    span_start: date
    nominal_start: date = Field(description="the billing period the share is of, inclusive")
    nominal_end: date
    days: int = Field(description="days in the line's period: the fraction's numerator")
    nominal_days: int = Field(description="days in the nominal period: its denominator")
    quantity_before: int | None
    quantity_after: int | None
    formula: str


class LineOut(BaseModel):
    """One line; `amount` in minor units (negative for credit), period inclusive."""

    line_no: int
    kind: LineKind
    subscription_id: str
    contract_id: str
    sku: str
    description: str
    period_start: date
    period_end: date
    quantity: int
    unit_price: int
    amount: int
    source: LineSourceOut


class SettlementOut(BaseModel):
    """Money the ledger applied to the invoice; negative when a reversed payment took an
    application back (dated the reversal)."""

    amount: int
    source: Literal["cash", "customer_credit", "credit_note"]
    applied_on: date
    source_event_id: str


class InvoiceOut(BaseModel):
    """An invoice (API.md): amounts in minor units of `currency`."""

    id: str
    number: str
    bill_run_id: str
    account_id: str
    currency: str
    invoice_date: date
    due_date: date
    status: InvoiceStatus
    lines: list[LineOut]
    subtotal: int
    total: int
    amount_paid: int
    amount_due: int
    voided_on: date | None
    settlements: list[SettlementOut] = Field(default_factory=list)


class CreditNoteOut(BaseModel):
    """A credit note: the account is owed `total` (positive); lines carry their signs."""

    id: str
    number: str
    bill_run_id: str
    account_id: str
    currency: str
    issue_date: date
    status: CreditNoteStatus
    lines: list[LineOut]
    total: int


class TermOut(BaseModel):
    """A term of service, dates inclusive."""

    start_date: date
    end_date: date
    order_id: str


class QuantityOut(BaseModel):
    """From `effective_date` on, `quantity` units (set by `order_id`)."""

    effective_date: date
    quantity: int
    order_id: str
    termination: bool


class BilledPeriodOut(BaseModel):
    """A period billed for the subscription, and on which document."""

    document_id: str
    document_kind: Literal["invoice", "credit_note"]
    kind: LineKind
    period_start: date
    period_end: date
    quantity: int
    amount: int


class ScheduleOut(BaseModel):
    """GET /v1/billing-schedules: one subscription, the periods billed and the next bill date."""

    subscription_id: str
    account_id: str
    contract_id: str
    currency: str
    sku: str
    name: str
    charge_type: Literal["recurring", "one_time"]
    billing_period: Literal["month", "quarter", "half_year", "year"] | None
    billing_timing: Literal["advance", "arrears"]
    bill_cycle_day: int
    unit_price: int
    terms: list[TermOut]
    quantities: list[QuantityOut]
    periods_billed: list[BilledPeriodOut]
    next_bill_date: date | None = Field(
        description="the first bill run date that bills something of it; null: nothing left "
        "to bill, or only what is on hold"
    )


class PreviewChangeIn(Strict):
    """One line of a draft amendment: a new quantity for a subscription, or a new one."""

    subscription_id: OpaqueId | None = None
    sku: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[!-~]+$")] | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    quantity: Annotated[int, Field(ge=0, le=10**9)]
    unit_price: Annotated[int, Field(ge=0, le=10**15)] | None = None
    charge_type: Literal["recurring", "one_time"] = "recurring"
    billing_period: Literal["month", "quarter", "half_year", "year"] | None = None


class PreviewIn(Strict):
    """POST /v1/accounts/{id}/upcoming-invoice/preview: a draft amendment of a contract."""

    contract_id: OpaqueId
    effective_date: BusinessDate
    as_of: BusinessDate | None = None
    lines: Annotated[list[PreviewChangeIn], Field(min_length=1, max_length=500)]


class UpcomingDocumentOut(BaseModel):
    """A document the run would issue (not numbered, not stored)."""

    kind: Literal["invoice", "credit_note"]
    currency: str
    issue_date: date
    due_date: date | None
    lines: list[LineOut]
    subtotal: int
    total: int


class UpcomingInvoiceOut(BaseModel):
    """What a bill run as of `as_of` would produce for the account, as it stands."""

    account_id: str
    as_of: date | None
    documents: list[UpcomingDocumentOut]


def line_out(row: dict[str, Any]) -> LineOut:
    """A stored line (billed_lines row) as the API shows it."""
    return LineOut(
        **{k: row[k] for k in LineOut.model_fields if k != "source"},
        source=LineSourceOut(**{k: row[k] for k in LineSourceOut.model_fields}),
    )


def invoice_out(row: dict[str, Any]) -> InvoiceOut:
    """A stored invoice with its lines."""
    fields = {k: row[k] for k in InvoiceOut.model_fields if k not in ("lines", "settlements")}
    settlements = [SettlementOut(**s) for s in row.get("settlements", [])]
    return InvoiceOut(**fields, lines=[line_out(r) for r in row["lines"]], settlements=settlements)


def credit_note_out(row: dict[str, Any]) -> CreditNoteOut:
    """A stored credit note with its lines."""
    fields = {k: row[k] for k in CreditNoteOut.model_fields if k not in ("lines", "status")}
    return CreditNoteOut(
        **fields, status=CreditNoteStatus.ISSUED, lines=[line_out(r) for r in row["lines"]]
    )


def bill_run_out(row: dict[str, Any]) -> BillRunOut:
    """A stored bill run."""
    return BillRunOut.model_validate(row)


def schedule_out(row: dict[str, Any]) -> ScheduleOut:
    """A stored subscription with its terms, quantities and billed periods."""
    fields = {
        k: row[k]
        for k in ScheduleOut.model_fields
        if k not in ("terms", "quantities", "periods_billed")
    }
    return ScheduleOut(
        **fields,
        terms=[TermOut(**t) for t in row["terms"]],
        quantities=[QuantityOut(**q) for q in row["quantities"]],
        periods_billed=[BilledPeriodOut(**b) for b in row["billed"]],
    )
