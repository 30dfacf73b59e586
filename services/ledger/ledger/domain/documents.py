"""What billing hands the ledger: invoices and credit notes with their lines (plain values).

The service builds these from `InvoicePosted` and `CreditNoteIssued`. Amounts
are integers in the currency's minor unit; periods are inclusive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from ledger.domain.errors import InvalidDocument


class LineKind(StrEnum):
    """Billing's line kinds; all but one-time are deferred and recognised over their period."""

    RECURRING = "recurring"
    PRORATION = "proration"
    CREDIT = "credit"
    ONE_TIME = "one_time"


@dataclass(frozen=True, slots=True)
class DocumentLine:
    """One billed line: a credit line's amount is negative, every other kind's is not."""

    line_no: int
    kind: LineKind
    period_start: date
    period_end: date  # inclusive
    amount: int

    @property
    def deferred(self) -> bool:
        """True for recurring, proration and credit lines (posted to 2100, recognised daily)."""
        return self.kind is not LineKind.ONE_TIME

    def problem(self) -> str | None:
        """Why the line cannot be posted, or None."""
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            return f"line {self.line_no}: amount {self.amount!r} is not minor units"
        if self.period_end < self.period_start:
            return f"line {self.line_no}: period ends before it starts"
        if (self.kind is LineKind.CREDIT) != (self.amount < 0) and self.amount != 0:
            return f"line {self.line_no}: a {self.kind} line of {self.amount}"
        return None


def _check_lines(document_id: str, lines: tuple[DocumentLine, ...]) -> None:
    if len({line.line_no for line in lines}) != len(lines):
        raise InvalidDocument(document_id, "line numbers repeat")
    for line in lines:
        if (problem := line.problem()) is not None:
            raise InvalidDocument(document_id, problem)


@dataclass(frozen=True, slots=True)
class Invoice:
    """A posted invoice: owed by `account_id`, total = sum of its lines (>= 0)."""

    invoice_id: str
    number: str
    account_id: str
    currency: str
    invoice_date: date
    due_date: date
    lines: tuple[DocumentLine, ...]

    @property
    def total(self) -> int:
        """Sum of the line amounts."""
        return sum(line.amount for line in self.lines)

    @property
    def deferred_total(self) -> int:
        """Recurring, proration and credit lines (posted to 2100; may be negative)."""
        return sum(line.amount for line in self.lines if line.deferred)

    @property
    def one_time_total(self) -> int:
        """One-time lines (posted to 4100)."""
        return sum(line.amount for line in self.lines if not line.deferred)

    def check(self) -> None:
        """Raise InvalidDocument unless the invoice can be posted as it is."""
        _check_lines(self.invoice_id, self.lines)
        if self.total < 0:
            raise InvalidDocument(self.invoice_id, f"total {self.total} is negative")
        if self.due_date < self.invoice_date:
            raise InvalidDocument(self.invoice_id, "due before it is issued")


@dataclass(frozen=True, slots=True)
class CreditNote:
    """A credit note: the account is owed `total`, the negated (positive) sum of its lines."""

    credit_note_id: str
    number: str
    account_id: str
    currency: str
    issue_date: date
    lines: tuple[DocumentLine, ...]

    @property
    def total(self) -> int:
        """What the account is owed: minus the sum of the lines (> 0)."""
        return -sum(line.amount for line in self.lines)

    @property
    def deferred_total(self) -> int:
        """Signed sum of the recurring, proration and credit lines."""
        return sum(line.amount for line in self.lines if line.deferred)

    @property
    def one_time_total(self) -> int:
        """Signed sum of the one-time lines."""
        return sum(line.amount for line in self.lines if not line.deferred)

    def check(self) -> None:
        """Raise InvalidDocument unless the credit note can be posted as it is."""
        _check_lines(self.credit_note_id, self.lines)
        if self.total <= 0:
            raise InvalidDocument(self.credit_note_id, f"total {self.total} is not positive")
