"""Journal entries: balanced, one net line per ledger account, append-only.

Every entry also says what it concerns (the invoice, credit note, payment or
refund) and how it moved the receivables sub-ledger: each invoice's amount due
and each customer-credit lot. Construction refuses an entry whose debits and
credits differ, or whose sub-ledger moves disagree with its 1100 and 2200
lines, so the general ledger and the sub-ledger cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from ledger.domain.accounts import CHART, LedgerAccount


class UnbalancedEntry(ValueError):
    """An entry that breaks double entry: a bug in the code that built it, never input."""


class EntryKind(StrEnum):
    """The business step an entry records."""

    INVOICE_POSTED = "invoice_posted"
    CREDIT_NOTE_ISSUED = "credit_note_issued"
    CREDIT_APPLIED = "credit_applied"
    REVENUE_RECOGNISED = "revenue_recognised"
    INVOICE_VOIDED = "invoice_voided"
    RECOGNITION_REVERSED = "recognition_reversed"
    PAYMENT_RECEIVED = "payment_received"
    PAYMENT_REVERSED = "payment_reversed"
    CREDIT_REFUNDED = "credit_refunded"
    INVOICE_WRITTEN_OFF = "invoice_written_off"


class ConcernKind(StrEnum):
    """What kind of thing an entry is about."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    PAYMENT = "payment"
    REFUND = "refund"


@dataclass(frozen=True, slots=True)
class Concern:
    """The invoice, credit note, payment or refund an entry concerns; `line_no` for recognition."""

    kind: ConcernKind
    id: str
    line_no: int | None = None


class MoveTarget(StrEnum):
    """The two halves of the receivables sub-ledger."""

    INVOICE = "invoice"  # an invoice's amount due (mirrors 1100)
    CREDIT_LOT = "credit_lot"  # a lot of unapplied customer credit (mirrors 2200)


@dataclass(frozen=True, slots=True)
class SubledgerMove:
    """How an entry changed one invoice's amount due or one lot's unapplied credit (signed)."""

    target: MoveTarget
    ref: str
    amount: int


@dataclass(frozen=True, slots=True)
class JournalLine:
    """One ledger account's net amount in an entry: a debit or a credit, never both."""

    account: LedgerAccount
    debit: int
    credit: int

    def __post_init__(self) -> None:
        for value in (self.debit, self.credit):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise UnbalancedEntry(f"{self.account}: {value!r} is not minor units >= 0")
        if (self.debit == 0) == (self.credit == 0):
            raise UnbalancedEntry(f"{self.account}: one of debit and credit, and not zero")

    @property
    def signed(self) -> int:
        """Debit positive, credit negative."""
        return self.debit - self.credit


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A balanced entry in one currency for one customer account, dated `entry_date`.

    `service_month` (the first day of the month) is the month whose revenue the
    entry earns or reverses: the recognised month for recognition, the invoice
    date's month for a posting and its void. Build entries with journal_entry().
    """

    entry_date: date
    currency: str
    account_id: str
    kind: EntryKind
    concerns: Concern
    lines: tuple[JournalLine, ...]
    moves: tuple[SubledgerMove, ...] = ()
    service_month: date | None = None

    def __post_init__(self) -> None:
        accounts = [line.account for line in self.lines]
        if len(accounts) < 2 or len(set(accounts)) != len(accounts):
            raise UnbalancedEntry(f"{self.kind} {self.concerns}: lines {accounts}")
        if self.debits != self.credits:
            raise UnbalancedEntry(
                f"{self.kind} {self.concerns}: debits {self.debits} != credits {self.credits}"
            )
        invoices = sum(m.amount for m in self.moves if m.target is MoveTarget.INVOICE)
        lots = sum(m.amount for m in self.moves if m.target is MoveTarget.CREDIT_LOT)
        if invoices != self.amount(LedgerAccount.ACCOUNTS_RECEIVABLE):
            raise UnbalancedEntry(f"{self.kind} {self.concerns}: invoice moves {invoices} != 1100")
        if lots != -self.amount(LedgerAccount.CUSTOMER_CREDIT):
            raise UnbalancedEntry(f"{self.kind} {self.concerns}: lot moves {lots} != 2200")
        if self.service_month is not None and self.service_month.day != 1:
            raise UnbalancedEntry(f"service month {self.service_month} is not a month's first day")

    @property
    def debits(self) -> int:
        """Sum of the debit side."""
        return sum(line.debit for line in self.lines)

    @property
    def credits(self) -> int:
        """Sum of the credit side."""
        return sum(line.credit for line in self.lines)

    def amount(self, account: LedgerAccount) -> int:
        """The entry's signed amount on `account` (debit positive), 0 when it has no line."""
        return sum(line.signed for line in self.lines if line.account is account)


def journal_entry(
    *,
    entry_date: date,
    currency: str,
    account_id: str,
    kind: EntryKind,
    concerns: Concern,
    amounts: Iterable[tuple[LedgerAccount, int]],
    moves: Iterable[SubledgerMove] = (),
    service_month: date | None = None,
) -> JournalEntry | None:
    """Net signed `amounts` (debit positive) into one line per account, in chart order.

    Returns None when every account nets to zero: an entry that moves nothing
    is not written. Raises UnbalancedEntry when the amounts do not sum to zero.
    """
    net: dict[LedgerAccount, int] = {}
    for account, amount in amounts:
        net[account] = net.get(account, 0) + amount
    lines = tuple(
        JournalLine(account, max(net[account], 0), max(-net[account], 0))
        for account in CHART
        if net.get(account, 0) != 0
    )
    kept = tuple(m for m in moves if m.amount != 0)
    if not lines:
        if kept:
            raise UnbalancedEntry(f"{kind} {concerns}: sub-ledger moves without lines")
        return None
    return JournalEntry(
        entry_date, currency, account_id, kind, concerns, lines, kept, service_month
    )
