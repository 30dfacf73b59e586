"""Finance reports, computed from journal entries dated on or before a date.

Nothing here reads the books: the general-ledger side comes from the entries'
lines, the receivables side from their sub-ledger moves, and invoice due dates
and numbers from the invoice documents. Every report is per currency (no FX).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from revline_pricing import add_months

from ledger.domain.accounts import CHART, LedgerAccount
from ledger.domain.documents import Invoice
from ledger.domain.journal import EntryKind, JournalEntry, MoveTarget
from ledger.domain.recognition import month_start

AR = LedgerAccount.ACCOUNTS_RECEIVABLE
CREDIT = LedgerAccount.CUSTOMER_CREDIT


def dated_by(entries: Iterable[JournalEntry], as_of: date) -> Iterable[JournalEntry]:
    """The entries dated on or before `as_of`."""
    return (entry for entry in entries if entry.entry_date <= as_of)


# -- trial balance and account balances --------------------------------------


@dataclass(frozen=True, slots=True)
class TrialBalanceRow:
    """One ledger account's debit and credit totals."""

    account: LedgerAccount
    debit: int
    credit: int

    @property
    def balance(self) -> int:
        """In the account's normal direction: debits - credits for assets and expenses."""
        net = self.debit - self.credit
        return net if self.account.debit_normal else -net


@dataclass(frozen=True, slots=True)
class TrialBalance:
    """Every account of the chart (zeros included) in one currency; debits equal credits."""

    currency: str
    as_of: date
    rows: tuple[TrialBalanceRow, ...]

    @property
    def total_debit(self) -> int:
        """Sum of the debit column."""
        return sum(row.debit for row in self.rows)

    @property
    def total_credit(self) -> int:
        """Sum of the credit column."""
        return sum(row.credit for row in self.rows)

    def row(self, account: LedgerAccount) -> TrialBalanceRow:
        """The account's row."""
        return next(row for row in self.rows if row.account is account)


def trial_balance(entries: Iterable[JournalEntry], as_of: date) -> dict[str, TrialBalance]:
    """Debit and credit totals per ledger account over entries dated <= as_of, per currency."""
    totals: dict[str, dict[LedgerAccount, list[int]]] = defaultdict(
        lambda: {account: [0, 0] for account in CHART}
    )
    for entry in dated_by(entries, as_of):
        for line in entry.lines:
            cell = totals[entry.currency][line.account]
            cell[0] += line.debit
            cell[1] += line.credit
    return {
        currency: TrialBalance(
            currency,
            as_of,
            tuple(TrialBalanceRow(account, *accounts[account]) for account in CHART),
        )
        for currency, accounts in sorted(totals.items())
    }


# -- receivables: what each invoice and lot stands at ------------------------


@dataclass(frozen=True, slots=True)
class OpenInvoice:
    """An invoice with something due on the report's date."""

    invoice_id: str
    number: str
    due_date: date
    amount_due: int


@dataclass(frozen=True, slots=True)
class Receivable:
    """A customer account's receivables in one currency.

    `balance` is what the account owes net: open amounts due minus its
    unapplied cash (customer credit).
    """

    account_id: str
    currency: str
    open_invoices: tuple[OpenInvoice, ...]
    unapplied_cash: int

    @property
    def amount_due(self) -> int:
        """Sum of the open invoices' amounts due."""
        return sum(i.amount_due for i in self.open_invoices)

    @property
    def balance(self) -> int:
        """Amounts due minus unapplied cash."""
        return self.amount_due - self.unapplied_cash


def receivables(
    entries: Iterable[JournalEntry], invoices: Mapping[str, Invoice], as_of: date
) -> dict[tuple[str, str], Receivable]:
    """Per (account_id, currency): open invoices by (due_date, number) and unapplied cash."""
    due: dict[str, int] = defaultdict(int)
    # Every account and currency with an entry gets a row, zeros included.
    credit: dict[tuple[str, str], int] = defaultdict(int)
    for entry in dated_by(entries, as_of):
        credit.setdefault((entry.account_id, entry.currency), 0)
        for move in entry.moves:
            if move.target is MoveTarget.INVOICE:
                due[move.ref] += move.amount
            else:
                credit[(entry.account_id, entry.currency)] += move.amount
    opened: dict[tuple[str, str], list[OpenInvoice]] = defaultdict(list)
    for invoice_id, amount in due.items():
        if amount:
            invoice = invoices[invoice_id]
            opened[(invoice.account_id, invoice.currency)].append(
                OpenInvoice(invoice_id, invoice.number, invoice.due_date, amount)
            )
    return {
        key: Receivable(
            key[0],
            key[1],
            tuple(sorted(opened[key], key=lambda i: (i.due_date, i.number))),
            credit[key],
        )
        for key in sorted(set(credit) | set(opened))
    }


# -- account statement -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One entry that changed what the account owes, and the balance after it.

    `change` is the entry's effect on amounts due minus unapplied cash: an
    invoice adds, a payment or credit note takes off, a refund adds back.
    """

    entry_date: date
    kind: EntryKind
    concerns: str
    change: int
    balance: int


@dataclass(frozen=True, slots=True)
class Statement:
    """An account's statement in one currency over [date_from, date_to]."""

    account_id: str
    currency: str
    opening_balance: int  # at the end of the day before date_from
    lines: tuple[StatementLine, ...]

    @property
    def closing_balance(self) -> int:
        """The balance after the last line (the opening one when there is none)."""
        return self.lines[-1].balance if self.lines else self.opening_balance


def account_statement(
    entries: Iterable[JournalEntry],
    account_id: str,
    currency: str,
    date_from: date,
    date_to: date,
) -> Statement:
    """Invoices, credit notes, payments, refunds, reversals and write-offs with a running balance.

    The balance is Receivable.balance: amounts due minus unapplied cash. Lines
    come in date order, then posting order; entries that leave the receivables
    alone (recognition) are not on it.
    """
    mine = sorted(
        (
            e
            for e in entries
            if e.account_id == account_id and e.currency == currency and e.moves
            and e.entry_date <= date_to
        ),
        key=lambda e: e.entry_date,
    )  # fmt: skip
    balance = 0
    opening = 0
    lines: list[StatementLine] = []
    for entry in mine:
        change = sum(m.amount if m.target is MoveTarget.INVOICE else -m.amount for m in entry.moves)
        balance += change
        if entry.entry_date < date_from:
            opening = balance
        else:
            lines.append(
                StatementLine(entry.entry_date, entry.kind, entry.concerns.id, change, balance)
            )
    return Statement(account_id, currency, opening, tuple(lines))


# -- AR aging ---------------------------------------------------------------


class AgingBucket(StrEnum):
    """Days past due (as_of - due_date): current <= 0, then 1-30, 31-60, 61-90, over 90."""

    CURRENT = "current"
    DAYS_1_30 = "1_30"
    DAYS_31_60 = "31_60"
    DAYS_61_90 = "61_90"
    OVER_90 = "over_90"

    @classmethod
    def for_days(cls, days_past_due: int) -> AgingBucket:
        """The bucket of an invoice `days_past_due` days past its due date."""
        if days_past_due <= 0:
            return cls.CURRENT
        if days_past_due <= 30:
            return cls.DAYS_1_30
        if days_past_due <= 60:
            return cls.DAYS_31_60
        if days_past_due <= 90:
            return cls.DAYS_61_90
        return cls.OVER_90


@dataclass(frozen=True, slots=True)
class AgingRow:
    """One account's amounts due by bucket in one currency; customer credit apart."""

    account_id: str
    currency: str
    buckets: Mapping[AgingBucket, int]
    customer_credit: int

    @property
    def total(self) -> int:
        """Sum of the buckets."""
        return sum(self.buckets.values())


@dataclass(frozen=True, slots=True)
class AgingReport:
    """AR aging as of a date: a row per account and currency, and the totals per currency."""

    as_of: date
    rows: tuple[AgingRow, ...]

    def totals(self, currency: str) -> dict[AgingBucket, int]:
        """Every bucket's total over the accounts in `currency`."""
        summed = dict.fromkeys(AgingBucket, 0)
        for row in self.rows:
            if row.currency == currency:
                for bucket, amount in row.buckets.items():
                    summed[bucket] += amount
        return summed


def ar_aging(
    entries: Iterable[JournalEntry], invoices: Mapping[str, Invoice], as_of: date
) -> AgingReport:
    """Age each invoice's amount due as of `as_of` into its bucket (W20)."""
    rows = []
    for key, receivable in receivables(entries, invoices, as_of).items():
        buckets = dict.fromkeys(AgingBucket, 0)
        for invoice in receivable.open_invoices:
            buckets[AgingBucket.for_days((as_of - invoice.due_date).days)] += invoice.amount_due
        rows.append(AgingRow(key[0], key[1], buckets, receivable.unapplied_cash))
    return AgingReport(as_of, tuple(rows))


# -- revenue ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RevenueMonth:
    """Revenue earned in one service month (`month` is its first day)."""

    month: date
    subscription: int
    one_time: int


@dataclass(frozen=True, slots=True)
class RevenueReport:
    """Revenue by service month in [from, to], and the deferred revenue balance at `to`."""

    currency: str
    months: tuple[RevenueMonth, ...]
    deferred_at_to: int


def revenue_report(
    entries: Iterable[JournalEntry], date_from: date, date_to: date
) -> dict[str, RevenueReport]:
    """Recognised revenue per service month of [date_from, date_to], as of `date_to`, per currency.

    Subscription revenue (4000) and one-time revenue (4100) are credits minus
    debits of the entries of that service month dated on or before `date_to`,
    whenever posted (a catch-up entry counts for the month it earns); the
    deferred revenue is the 2100 credit balance at `date_to`. Every month of
    the range is listed, zeros included.
    """
    months: list[date] = []
    month = month_start(date_from)
    while month <= date_to:
        months.append(month)
        month = add_months(month, 1)
    earned: dict[str, dict[date, list[int]]] = defaultdict(lambda: {m: [0, 0] for m in months})
    deferred: dict[str, int] = defaultdict(int)
    for entry in dated_by(entries, date_to):
        by_month = earned[entry.currency]
        deferred[entry.currency] -= entry.amount(LedgerAccount.DEFERRED_REVENUE)
        if entry.service_month in by_month:
            cell = by_month[entry.service_month]
            cell[0] -= entry.amount(LedgerAccount.SUBSCRIPTION_REVENUE)
            cell[1] -= entry.amount(LedgerAccount.ONE_TIME_REVENUE)
    return {
        currency: RevenueReport(
            currency,
            tuple(RevenueMonth(m, *cells) for m, cells in earned[currency].items()),
            deferred[currency],
        )
        for currency in sorted(earned)
    }


# -- tie-out ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TieOut:
    """The receivables sub-ledger against the general ledger in one currency."""

    currency: str
    open_amount_due: int  # sum of the invoices' amounts due
    receivable_balance: int  # 1100, debit balance
    unapplied_credit: int  # sum of the lots' unapplied credit
    customer_credit_balance: int  # 2200, credit balance

    @property
    def receivable_difference(self) -> int:
        """Sub-ledger minus 1100: always 0."""
        return self.open_amount_due - self.receivable_balance

    @property
    def credit_difference(self) -> int:
        """Lots minus 2200: always 0."""
        return self.unapplied_credit - self.customer_credit_balance


def tie_out(entries: Iterable[JournalEntry], as_of: date) -> dict[str, TieOut]:
    """Compare the sub-ledger moves with the 1100 and 2200 lines over entries dated <= as_of."""
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for entry in dated_by(entries, as_of):
        cell = sums[entry.currency]
        for move in entry.moves:
            cell[0 if move.target is MoveTarget.INVOICE else 2] += move.amount
        cell[1] += entry.amount(AR)
        cell[3] -= entry.amount(CREDIT)
    return {currency: TieOut(currency, *cell) for currency, cell in sorted(sums.items())}
