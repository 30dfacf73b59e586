"""Events on `ledger.events` that other services act on.

Billing follows invoice status and amount due from `InvoiceAmountApplied`,
`InvoiceAmountUnapplied` (a reversed payment) and `InvoiceWrittenOff`.
The ledger's own bookkeeping events follow: the facts each book (one customer
account in one currency) is folded from (`InvoiceBooked`, ...), and the
journal entries they posted (`JournalEntryPosted`). Last, what the RevOps
metrics take in of quote.events and contract.events (`ContractFactsNoted`,
`QuoteFactsNoted`): the ledger's read model of them is a fold of its own log.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from revline_events.catalogue import CATALOGUE, EventPayload

ApplicationSource = Literal["cash", "customer_credit", "credit_note"]


@CATALOGUE.register("InvoiceAmountApplied", 1)
class InvoiceAmountApplied(EventPayload):
    """Money was applied to an open invoice: cash, customer credit or a credit note.

    `amount` (minor units, > 0) reduces the invoice's amount due; `source_id`
    names the payment or credit note it came from.
    """

    application_id: str
    invoice_id: str
    account_id: str
    currency: str
    amount: int
    source: ApplicationSource
    source_id: str
    applied_on: date


@CATALOGUE.register("InvoiceAmountUnapplied", 1)
class InvoiceAmountUnapplied(EventPayload):
    """Money applied to an invoice was taken back: its payment was reversed (W21).

    `amount` (minor units, > 0) is what the undone application had paid; the
    invoice's amount paid goes down by it and, unless the invoice was written off
    since (it stays uncollectible, amount due 0), its amount due goes up by it.
    `source` and `source_id` are the undone application's (`cash` or
    `customer_credit` of the payment `source_id`).
    """

    unapplication_id: str
    invoice_id: str
    account_id: str
    currency: str
    amount: int
    source: ApplicationSource
    source_id: str
    unapplied_on: date


# -- the ledger's own bookkeeping: the facts its books are folded from, and what they posted --

BookedLineKind = Literal["recurring", "proration", "credit", "one_time"]
LedgerAccountNumber = Literal["1000", "1100", "2100", "2200", "4000", "4100", "6000"]


class BookedLine(EventPayload):
    """An invoice or credit-note line as the ledger books it: what recognition needs.

    `amount` in minor units, negative for a credit line; the period is inclusive.
    """

    line_no: int
    kind: BookedLineKind
    period_start: date
    period_end: date
    amount: int


@CATALOGUE.register("InvoiceBooked", 1)
class InvoiceBooked(EventPayload):
    """The ledger took a posted invoice into the book of its account and currency.

    `source_event_id` is the InvoicePosted (billing.events) it came from. The
    book posts it (Dr 1100; Cr 2100 / 4100), applies customer credit to it and
    recognises revenue through `invoice_date`; what that posted follows as
    JournalEntryPosted and InvoiceAmountApplied events of the same stream.
    """

    invoice_id: str
    number: str
    account_id: str
    currency: str
    invoice_date: date
    due_date: date
    lines: list[BookedLine]
    source_event_id: str


@CATALOGUE.register("CreditNoteBooked", 1)
class CreditNoteBooked(EventPayload):
    """The ledger took a credit note into its book: applied to open invoices like cash.

    `source_event_id` is the CreditNoteIssued it came from.
    """

    credit_note_id: str
    number: str
    account_id: str
    currency: str
    issue_date: date
    lines: list[BookedLine]
    source_event_id: str


@CATALOGUE.register("InvoiceVoidBooked", 1)
class InvoiceVoidBooked(EventPayload):
    """The ledger reversed a voided invoice's posting and recognition (from InvoiceVoided)."""

    invoice_id: str
    account_id: str
    currency: str
    voided_on: date
    source_event_id: str


@CATALOGUE.register("PaymentReceived", 1)
class PaymentReceived(EventPayload):
    """A payment finance recorded (POST /v1/payments), taken into the payer's book.

    Applied to the named invoice only, else to open invoices oldest first by
    (due_date, number); the rest stays as customer credit. `amount` in minor
    units (> 0), in `currency`.
    """

    payment_id: str
    account_id: str
    currency: str
    amount: int
    received_on: date
    reference: str
    invoice_id: str | None = None


@CATALOGUE.register("CreditRefunded", 1)
class CreditRefunded(EventPayload):
    """Customer credit was paid back to the account (POST /v1/refunds, W22): Dr 2200 / Cr 1000,
    taken from its lots oldest first. `amount` in minor units (> 0)."""

    refund_id: str
    account_id: str
    currency: str
    amount: int
    refunded_on: date
    reference: str


@CATALOGUE.register("PaymentReversed", 1)
class PaymentReversed(EventPayload):
    """A payment came back (returned or charged back, POST /v1/payments/{id}/reverse, W21).

    Cr 1000 its amount; everything it paid (its cash and the customer credit of
    its lot) is undone, each as an InvoiceAmountUnapplied of the same stream; what
    of its lot was unapplied leaves 2200. A payment is reversed at most once.
    """

    payment_id: str
    account_id: str
    currency: str
    reversed_on: date
    reason: str


@CATALOGUE.register("InvoiceWrittenOff", 1)
class InvoiceWrittenOff(EventPayload):
    """An open invoice was written off as uncollectible (POST /v1/invoices/{id}/write-off, W23).

    Dr 6000 / Cr 1100 `amount`, its amount due then (minor units, > 0); it is
    `uncollectible` from now on with amount due 0 and takes no payment or credit.
    Billing follows it: the invoice's status becomes `uncollectible`.
    """

    invoice_id: str
    account_id: str
    currency: str
    written_off_on: date
    amount: int
    reason: str


@CATALOGUE.register("RevenueRecognisedThrough", 1)
class RevenueRecognisedThrough(EventPayload):
    """A recognition run reached this book: every line-month due by `through` is recognised.

    Recorded only for a book it posted entries in; `run_id` names the run.
    """

    run_id: str
    account_id: str
    currency: str
    through: date


class EntryLine(EventPayload):
    """One ledger account's net amount in an entry: a debit or a credit (minor units >= 0)."""

    ledger_account: LedgerAccountNumber
    debit: int
    credit: int


class EntryMove(EventPayload):
    """How an entry moved the receivables sub-ledger: an invoice's amount due or a credit lot."""

    target: Literal["invoice", "credit_lot"]
    ref: str
    amount: int  # signed


@CATALOGUE.register("JournalEntryPosted", 1)
class JournalEntryPosted(EventPayload):
    """A balanced journal entry the ledger posted; entries are never changed, only added.

    `concerns_kind`/`concerns_id` name the invoice, credit note, payment or
    refund (`concerns_line_no` the line, for recognition); `service_month` (a
    month's first day) is the month whose revenue it earns or reverses.
    `source_event_id` is the upstream event (or request) that caused it.
    """

    entry_id: str
    account_id: str
    currency: str
    entry_date: date
    kind: str
    concerns_kind: Literal["invoice", "credit_note", "payment", "refund"]
    concerns_id: str
    concerns_line_no: int | None = None
    service_month: date | None = None
    lines: list[EntryLine]
    moves: list[EntryMove] = Field(default_factory=list)
    source_event_id: str


# --- RevOps metrics: what the ledger took in of quote.events and contract.events ----------

MetricsBillingPeriod = Literal["month", "quarter", "half_year", "year"]
MetricsQuoteKind = Literal["new", "amendment", "renewal"]
QuoteStep = Literal["created", "presented", "accepted", "rejected"]


class NotedLine(EventPayload):
    """A recurring line in force from `start_date` to `end_date` (inclusive).

    `line_id` is `<subscription_id>@<start_date>`: a renewed subscription keeps its id,
    each term's line is a line of its own. `unit_price` is the net price per unit and
    billing period, in minor units.
    """

    line_id: str
    subscription_id: str
    billing_period: MetricsBillingPeriod
    unit_price: int
    quantity: int
    start_date: date
    end_date: date


class NotedQuantity(EventPayload):
    """A line runs at `quantity` from `effective_date` on (0 removes it)."""

    line_id: str
    effective_date: date
    quantity: int


class NotedTerm(EventPayload):
    """A contract term, `start_date` to `end_date` inclusive; `quote_id` is its quote."""

    start_date: date
    end_date: date
    quote_id: str | None = None
    renews: str | None = None


@CATALOGUE.register("ContractFactsNoted", 1)
class ContractFactsNoted(EventPayload):
    """What the RevOps metrics take of one contract event (the ledger's README, Metrics).

    `recorded_at` is the contract event's `occurred_at` (when it became known);
    `ended_on` the contract's last day of service when it was terminated.
    `source_event_id` is the contract event.
    """

    contract_id: str
    account_id: str
    currency: str
    recorded_at: datetime
    term: NotedTerm | None = None
    lines: list[NotedLine] = Field(default_factory=list)
    quantities: list[NotedQuantity] = Field(default_factory=list)
    ended_on: date | None = None
    source_event_id: str


class NotedPrice(EventPayload):
    """A recurring line of an accepted quote at its starting quantity: the ACV input."""

    billing_period: MetricsBillingPeriod
    unit_price: int
    quantity: int


@CATALOGUE.register("QuoteFactsNoted", 1)
class QuoteFactsNoted(EventPayload):
    """A step of a quote the sales metrics count, dated `step_date`.

    `recorded_at` is the quote event's `occurred_at`. On acceptance, `recurring` are
    its recurring lines and `total_contract_value` its TCV (minor units).
    """

    quote_id: str
    account_id: str
    currency: str
    kind: MetricsQuoteKind
    step: QuoteStep
    step_date: date
    recorded_at: datetime
    recurring: list[NotedPrice] = Field(default_factory=list)
    total_contract_value: int = 0
    source_event_id: str
