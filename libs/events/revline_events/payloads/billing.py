"""Events on `billing.events`: what billing took in, and the invoices and credit notes it made.

`InvoicePosted`, `CreditNoteIssued` and `InvoiceVoided` carry every figure the
ledger needs (BILLING_RULES.md 7): each line's kind, period and amount (for
revenue recognition), and the totals split into deferred (recurring,
proration and credit lines) and one-time revenue. Amounts are integers in the
currency's minor unit; periods are inclusive.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from revline_events.catalogue import CATALOGUE, EventPayload
from revline_events.payloads.order import OrderItem, OrderKind
from revline_events.payloads.quote import BillingTiming

LineKind = Literal["recurring", "proration", "credit", "one_time"]
SettlementSource = Literal["cash", "customer_credit", "credit_note"]
InvoiceStatus = Literal["posted", "partially_paid", "paid", "void"]


@CATALOGUE.register("OrderScheduled", 1)
class OrderScheduled(EventPayload):
    """Billing took an order into its billing schedules (from OrderActivated).

    The order's terms as billing keeps them; `source_event_id` is the
    OrderActivated event it came from, which every line it bills names.
    """

    order_id: str
    contract_id: str
    account_id: str
    kind: OrderKind
    currency: str
    effective_date: date
    bill_cycle_day: int
    billing_timing: BillingTiming
    contract_end_date: date
    credit_unused: bool = False
    items: list[OrderItem] = Field(default_factory=list)
    source_event_id: str


@CATALOGUE.register("OrderBillingControlChanged", 1)
class OrderBillingControlChanged(EventPayload):
    """An order's hold or billing-date override changed (from order.events).

    The whole control state after the change: `held` (with the reason) and the
    date before which none of the order's items bill (None: no override).
    """

    order_id: str
    account_id: str
    held: bool
    hold_reason: str | None = None
    next_billing_date: date | None = None
    source_event_id: str


@CATALOGUE.register("BillRunStarted", 1)
class BillRunStarted(EventPayload):
    """A bill run began: everything due on or before `as_of` will be billed."""

    bill_run_id: str
    as_of: date
    account_id: str | None = None  # None: every account


@CATALOGUE.register("BillRunCompleted", 1)
class BillRunCompleted(EventPayload):
    """A bill run finished every account it had to bill."""

    bill_run_id: str
    as_of: date
    invoice_count: int
    credit_note_count: int


class LineSource(EventPayload):
    """Where a line's amount came from: the order, and the facts it was computed from."""

    order_id: str
    order_event_ids: list[str]  # upstream OrderActivated event ids behind the quantities
    span_start: date  # first day of the billing span the line belongs to
    nominal_start: date  # the billing period the span's share is taken of, inclusive
    nominal_end: date
    days: int  # calendar days in the line's period: the fraction's numerator
    nominal_days: int  # calendar days in the nominal period: its denominator
    quantity_before: int | None = None  # proration and credit lines: quantity billed before
    quantity_after: int | None = None  # ... and the quantity in force after the change
    formula: str  # e.g. "5000 x 5 x 21/31 = 16935.48... -> 16935"


class BilledLine(EventPayload):
    """One invoice or credit-note line. `amount` is negative for a credit line."""

    line_no: int
    kind: LineKind
    subscription_id: str
    contract_id: str
    sku: str
    description: str
    period_start: date  # inclusive
    period_end: date  # inclusive
    quantity: int
    unit_price: int
    amount: int
    source: LineSource


@CATALOGUE.register("InvoicePosted", 1)
class InvoicePosted(EventPayload):
    """An invoice became final and is owed by the account.

    `total` = `subtotal` = sum of line amounts (>= 0). Ledger posts
    Dr 1100 total; Cr 2100 `deferred_total`; Cr 4100 `one_time_total`.
    A zero invoice is paid on posting (`status` "paid").
    """

    invoice_id: str
    number: str
    bill_run_id: str
    account_id: str
    currency: str
    invoice_date: date
    due_date: date
    lines: list[BilledLine]
    subtotal: int
    total: int
    deferred_total: int  # recurring + proration + credit lines
    one_time_total: int
    amount_paid: int
    amount_due: int
    status: InvoiceStatus


@CATALOGUE.register("CreditNoteIssued", 1)
class CreditNoteIssued(EventPayload):
    """A bill run's net for an account was negative: the account is owed `total`.

    `total` is positive (the absolute net of the lines); `deferred_total` and
    `one_time_total` are the signed sums of the lines (deferred_total +
    one_time_total == -total). Ledger posts Dr 2100 / Cr 1100 and applies it.
    """

    credit_note_id: str
    number: str
    bill_run_id: str
    account_id: str
    currency: str
    issue_date: date
    lines: list[BilledLine]
    total: int
    deferred_total: int
    one_time_total: int


@CATALOGUE.register("InvoiceVoided", 1)
class InvoiceVoided(EventPayload):
    """A posted, unpaid invoice was voided: ledger reverses its posting and recognition.

    Its number stays taken and its spans are not billed again.
    """

    invoice_id: str
    number: str
    account_id: str
    currency: str
    voided_on: date
    total: int
    deferred_total: int
    one_time_total: int
    reason: str | None = None


@CATALOGUE.register("InvoiceSettlementApplied", 1)
class InvoiceSettlementApplied(EventPayload):
    """Money was applied to an invoice (from ledger.events): its status after that.

    `amount` is what this application added; `amount_paid` and `amount_due`
    the invoice's figures after it.
    """

    invoice_id: str
    account_id: str
    currency: str
    amount: int
    source: SettlementSource
    applied_on: date
    amount_paid: int
    amount_due: int
    status: InvoiceStatus
    source_event_id: str


ReopenedStatus = Literal["posted", "partially_paid", "uncollectible"]


@CATALOGUE.register("InvoiceSettlementReversed", 1)
class InvoiceSettlementReversed(EventPayload):
    """Money applied to an invoice was taken back (a reversed payment, from ledger.events'
    InvoiceAmountUnapplied): its figures after that.

    `amount` (> 0) is what the undone application had paid; `amount_paid` and
    `amount_due` the invoice's figures after it: back to `partially_paid` or
    `posted`, or still `uncollectible` (amount due 0) when it was written off since.
    """

    invoice_id: str
    account_id: str
    currency: str
    amount: int
    source: SettlementSource
    reversed_on: date
    amount_paid: int
    amount_due: int
    status: ReopenedStatus
    source_event_id: str


@CATALOGUE.register("InvoiceMarkedUncollectible", 1)
class InvoiceMarkedUncollectible(EventPayload):
    """The ledger wrote the invoice off (ledger.events' InvoiceWrittenOff, W23): it is
    `uncollectible` with amount due 0 from now on and takes no payment; it cannot be voided.

    `amount_written_off` is the amount due it had; `amount_paid` is unchanged.
    """

    invoice_id: str
    account_id: str
    currency: str
    written_off_on: date
    amount_written_off: int
    amount_paid: int
    reason: str
    source_event_id: str
