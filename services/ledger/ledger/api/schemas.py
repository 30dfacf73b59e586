"""Wire shapes of the ledger API (API.md, "ledger (8005)"): amounts in minor units."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt
from revline_service.fields import CalendarDate

from ledger.domain.accounts import LedgerAccount
from ledger.domain.reports import AgingBucket, AgingReport, RevenueReport, TrialBalance
from ledger.reporting import tie_outs
from ledger.store.journal import AccountTotals


class ConcernsOut(BaseModel):
    """What an entry is about: an invoice, credit note, payment or refund (and line)."""

    kind: Literal["invoice", "credit_note", "payment", "refund"]
    id: str
    line_no: int | None = None


class EntryLineOut(BaseModel):
    """One ledger account's net amount in an entry: a debit or a credit."""

    ledger_account: str = Field(description="the account's number in the chart, e.g. 1100")
    name: str
    debit: int
    credit: int


class JournalEntryOut(BaseModel):
    """A balanced journal entry with its lines and the event that caused it."""

    id: str
    entry_date: date
    account_id: str = Field(description="the customer account")
    currency: str
    kind: str
    concerns: ConcernsOut
    service_month: date | None = Field(
        description="first day of the month whose revenue it earns or reverses"
    )
    lines: list[EntryLineOut]
    event_id: str = Field(description="the JournalEntryPosted event on ledger.events")
    source_event_id: str = Field(description="the upstream event (or request) that caused it")


def journal_entry_out(row: dict[str, Any]) -> JournalEntryOut:
    """An entry row of the projection (with its `lines`) on the wire."""
    return JournalEntryOut(
        id=row["entry_id"],
        entry_date=row["entry_date"],
        account_id=row["account_id"],
        currency=row["currency"],
        kind=row["kind"],
        concerns=ConcernsOut(
            kind=row["concerns_kind"], id=row["concerns_id"], line_no=row["concerns_line_no"]
        ),
        service_month=row["service_month"],
        lines=[
            EntryLineOut(
                ledger_account=line["ledger_account"],
                name=LedgerAccount(line["ledger_account"]).label,
                debit=line["debit"],
                credit=line["credit"],
            )
            for line in row["lines"]
        ],
        event_id=row["event_id"],
        source_event_id=row["source_event_id"],
    )


class CurrencyBalanceOut(BaseModel):
    """A ledger account's totals in one currency; `balance` in its normal direction."""

    currency: str
    debit: int
    credit: int
    balance: int


class LedgerAccountOut(BaseModel):
    """An account of the chart with its balances as of a date, per currency."""

    number: str
    name: str
    normal_balance: Literal["debit", "credit"]
    balances: list[CurrencyBalanceOut]


class LedgerAccountsOut(BaseModel):
    """The chart of accounts with balances over entries dated on or before `as_of`."""

    as_of: date
    data: list[LedgerAccountOut]


def ledger_accounts_out(as_of: date, balances: dict[str, TrialBalance]) -> LedgerAccountsOut:
    """The chart in number order, each account's balance in every currency."""
    return LedgerAccountsOut(
        as_of=as_of,
        data=[
            LedgerAccountOut(
                number=account.value,
                name=account.label,
                normal_balance="debit" if account.debit_normal else "credit",
                balances=[
                    CurrencyBalanceOut(
                        currency=currency,
                        debit=trial.row(account).debit,
                        credit=trial.row(account).credit,
                        balance=trial.row(account).balance,
                    )
                    for currency, trial in balances.items()
                ],
            )
            for account in LedgerAccount
        ],
    )


class TrialBalanceRowOut(BaseModel):
    """One ledger account's debit and credit totals."""

    ledger_account: str
    name: str
    debit: int
    credit: int


class TrialBalanceOut(BaseModel):
    """Every account of the chart in one currency; total debits equal total credits."""

    currency: str
    rows: list[TrialBalanceRowOut]
    total_debit: int
    total_credit: int


class TrialBalanceReportOut(BaseModel):
    """The trial balance as of a date, per currency (no FX)."""

    as_of: date
    currencies: list[TrialBalanceOut]


def trial_balance_out(as_of: date, balances: dict[str, TrialBalance]) -> TrialBalanceReportOut:
    """The domain's trial balances on the wire."""
    return TrialBalanceReportOut(
        as_of=as_of,
        currencies=[
            TrialBalanceOut(
                currency=currency,
                rows=[
                    TrialBalanceRowOut(
                        ledger_account=row.account.value,
                        name=row.account.label,
                        debit=row.debit,
                        credit=row.credit,
                    )
                    for row in trial.rows
                ],
                total_debit=trial.total_debit,
                total_credit=trial.total_credit,
            )
            for currency, trial in balances.items()
        ],
    )


# The largest amount one payment or refund may carry, as for every Revline amount: the
# sums stay exact in a 64-bit column.
MAX_AMOUNT = 10**15

# -- payments and receivables ------------------------------------------------------------------

# The ledger books whatever currency billing invoiced in: any three capitals.
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["USD"])]
CustomerAccountId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


class PaymentIn(BaseModel):
    """POST /v1/payments: money received from a customer account."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "account_id": "acme",
                    "amount": 49677,
                    "currency": "USD",
                    "received_on": "2026-01-20",
                    "reference": "wire 4711",
                }
            ]
        },
    )

    account_id: CustomerAccountId
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="minor units, 1 to 10^15")
    currency: Currency
    received_on: CalendarDate
    reference: str = Field(min_length=1, max_length=200)
    invoice_id: str | None = Field(
        default=None, min_length=1, max_length=200,
        description="apply to this invoice only; else to the oldest open invoices",
    )  # fmt: skip


class ApplicationOut(BaseModel):
    """Money of a payment applied to an invoice (its cash, or credit from its lot)."""

    invoice_id: str
    amount: int
    applied_on: date
    source: Literal["cash", "customer_credit", "credit_note"]


class PaymentOut(BaseModel):
    """A payment with its applications; what is not applied stays as customer credit."""

    id: str
    account_id: str
    currency: str
    amount: int
    received_on: date
    reference: str
    invoice_id: str | None
    status: Literal["applied", "reversed"]
    applications: list[ApplicationOut]
    reversed_on: date | None = Field(default=None, description="set once reversed (W21)")
    reversal_reason: str | None = None


def payment_out(row: dict[str, Any]) -> PaymentOut:
    """A payment row with its `applications` on the wire."""
    return PaymentOut(
        id=row["payment_id"],
        account_id=row["account_id"],
        currency=row["currency"],
        amount=row["amount"],
        received_on=row["received_on"],
        reference=row["reference"],
        invoice_id=row["invoice_id"],
        status="applied" if row.get("reversed_on") is None else "reversed",
        reversed_on=row.get("reversed_on"),
        reversal_reason=row.get("reason"),
        applications=[
            ApplicationOut(
                invoice_id=a["invoice_id"],
                amount=a["amount"],
                applied_on=a["applied_on"],
                source=a["source"],
            )
            for a in row["applications"]
        ],
    )


class OpenInvoiceOut(BaseModel):
    """An invoice with an amount due."""

    invoice_id: str
    number: str
    due_date: date
    amount_due: int


class ReceivableOut(BaseModel):
    """What an account owes in one currency as of a date: `balance` = open amounts due
    minus unapplied cash."""

    account_id: str
    currency: str
    as_of: date
    balance: int
    unapplied_cash: int
    open_invoices: list[OpenInvoiceOut]


class AgingBucketsOut(BaseModel):
    """Amounts due by days past due; `total` their sum."""

    current: int
    days_1_30: int = Field(alias="1_30")
    days_31_60: int = Field(alias="31_60")
    days_61_90: int = Field(alias="61_90")
    over_90: int
    total: int

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class AgingAccountOut(AgingBucketsOut):
    """One account's aging in one currency; its customer credit apart, in no bucket."""

    account_id: str
    currency: str
    customer_credit: int


class AgingTotalOut(AgingBucketsOut):
    """Every account's aging in one currency."""

    currency: str


class AgingReportOut(BaseModel):
    """AR aging as of a date (W20): per account and in total, per currency."""

    as_of: date
    accounts: list[AgingAccountOut]
    totals: list[AgingTotalOut]


def _buckets(buckets: Mapping[AgingBucket, int]) -> dict[str, int]:
    return {
        "current": buckets[AgingBucket.CURRENT],
        "1_30": buckets[AgingBucket.DAYS_1_30],
        "31_60": buckets[AgingBucket.DAYS_31_60],
        "61_90": buckets[AgingBucket.DAYS_61_90],
        "over_90": buckets[AgingBucket.OVER_90],
        "total": sum(buckets.values()),
    }


def aging_out(report: AgingReport) -> AgingReportOut:
    """The domain's aging report on the wire."""
    currencies = sorted({row.currency for row in report.rows})
    return AgingReportOut(
        as_of=report.as_of,
        accounts=[
            AgingAccountOut.model_validate(
                {
                    **_buckets(row.buckets),
                    "account_id": row.account_id,
                    "currency": row.currency,
                    "customer_credit": row.customer_credit,
                }
            )
            for row in report.rows
        ],
        totals=[
            AgingTotalOut.model_validate({**_buckets(report.totals(c)), "currency": c})
            for c in currencies
        ],
    )


class RecognitionRunIn(BaseModel):
    """POST /v1/recognition-runs: recognise every line-month due by `through`."""

    model_config = ConfigDict(extra="forbid")

    through: CalendarDate


class RecognitionRunOut(BaseModel):
    """What a recognition run posted."""

    id: str
    through: date
    books: int = Field(description="books it posted entries in")
    entries: int


class RevenueMonthOut(BaseModel):
    """Revenue earned in one service month (`month` as YYYY-MM)."""

    month: str
    subscription: int
    one_time: int


class RevenueOut(BaseModel):
    """Revenue by service month in one currency, and the deferred balance at `to`."""

    currency: str
    months: list[RevenueMonthOut]
    deferred_revenue: int


class RevenueReportOut(BaseModel):
    """Recognised revenue by service month over [from, to], as of `to`, per currency."""

    date_from: date = Field(alias="from")
    date_to: date = Field(alias="to")
    currencies: list[RevenueOut]

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


def revenue_out(date_from: date, date_to: date, reports: list[RevenueReport]) -> RevenueReportOut:
    """The domain's revenue reports on the wire."""
    return RevenueReportOut(
        date_from=date_from,
        date_to=date_to,
        currencies=[
            RevenueOut(
                currency=report.currency,
                months=[
                    RevenueMonthOut(
                        month=m.month.isoformat()[:7],
                        subscription=m.subscription,
                        one_time=m.one_time,
                    )
                    for m in report.months
                ],
                deferred_revenue=report.deferred_at_to,
            )
            for report in reports
        ],
    )


class RefundIn(BaseModel):
    """POST /v1/refunds: customer credit paid back."""

    model_config = ConfigDict(extra="forbid")

    account_id: CustomerAccountId
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="minor units, 1 to 10^15")
    currency: Currency
    refunded_on: CalendarDate
    reference: str = Field(min_length=1, max_length=200)


class RefundOut(BaseModel):
    """A refund of customer credit."""

    id: str
    account_id: str
    currency: str
    amount: int
    refunded_on: date
    reference: str


class TieOutOut(BaseModel):
    """The receivables sub-ledger against the general ledger in one currency."""

    currency: str
    open_invoices: int = Field(description="sum of open invoices' amount due")
    accounts_receivable: int = Field(description="the 1100 balance (debit)")
    receivable_difference: int
    customer_credit_lots: int = Field(description="sum of unapplied credit in lots")
    customer_credit: int = Field(description="the 2200 balance (credit)")
    credit_difference: int


class TieOutReportOut(BaseModel):
    """The tie-out as of a date, per currency: every difference is 0."""

    as_of: date
    currencies: list[TieOutOut]


def tie_out_out(
    as_of: date, moves: dict[tuple[str, str], int], totals: list[AccountTotals]
) -> TieOutReportOut:
    """The tie-out per currency on the wire."""
    return TieOutReportOut(
        as_of=as_of,
        currencies=[
            TieOutOut(
                currency=currency,
                open_invoices=invoices,
                accounts_receivable=receivable,
                receivable_difference=receivable - invoices,
                customer_credit_lots=lots,
                customer_credit=credit,
                credit_difference=credit - lots,
            )
            for currency, invoices, receivable, lots, credit in tie_outs(moves, totals)
        ],
    )


class StatementLineOut(BaseModel):
    """An entry that changed what the account owes, and the balance after it."""

    entry_id: str
    entry_date: date
    kind: str
    concerns: ConcernsOut
    change: int = Field(description="+ owes more (an invoice), - owes less (a payment)")
    balance: int


class StatementOut(BaseModel):
    """An account's statement in one currency over [from, to]: balance = amounts due
    less unapplied cash."""

    account_id: str
    currency: str
    date_from: date = Field(alias="from")
    date_to: date = Field(alias="to")
    opening_balance: int
    closing_balance: int
    lines: list[StatementLineOut]

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


def statement_out(
    account_id: str, currency: str, date_from: date, date_to: date, opening: int,
    rows: list[dict[str, Any]],
) -> StatementOut:  # fmt: skip
    """The statement with its running balance."""
    balance = opening
    lines = []
    for row in rows:
        balance += row["change"]
        lines.append(
            StatementLineOut(
                entry_id=row["entry_id"],
                entry_date=row["entry_date"],
                kind=row["kind"],
                concerns=ConcernsOut(kind=row["concerns_kind"], id=row["concerns_id"]),
                change=row["change"],
                balance=balance,
            )
        )
    return StatementOut(
        account_id=account_id, currency=currency, date_from=date_from, date_to=date_to,
        opening_balance=opening, closing_balance=balance, lines=lines,
    )  # fmt: skip
