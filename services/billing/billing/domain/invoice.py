"""From a run's charges to invoices and credit notes (BILLING_RULES.md 3).

One document per account and currency: the net of its lines decides which.
Net >= 0 is an invoice (credit lines as negative lines; a zero invoice is paid
at once); net < 0 is a credit note for the absolute amount, carrying the lines.
Lines are ordered by period start, then sku, then kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Literal

from billing.domain.schedule import Charge

KIND_ORDER = {"recurring": 0, "proration": 1, "credit": 2, "one_time": 3}
DocumentKind = Literal["invoice", "credit_note"]


class InvoiceStatus(StrEnum):
    """Where an invoice is: posted (owed), partially paid, paid, void (owes nothing), or
    uncollectible (written off by the ledger: owes nothing more, takes nothing more)."""

    POSTED = "posted"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


class CreditNoteStatus(StrEnum):
    """A credit note is issued once and stays issued (the ledger applies it)."""

    ISSUED = "issued"


@dataclass(frozen=True, slots=True)
class BillingDocument:
    """An invoice or credit note a run is about to issue, before it has a number.

    `net` is the signed sum of the line amounts; `total` its absolute value.
    `due_date` is None for a credit note.
    """

    kind: DocumentKind
    account_id: str
    currency: str
    issue_date: date
    due_date: date | None
    lines: tuple[Charge, ...]

    @property
    def net(self) -> int:
        """Signed sum of the line amounts."""
        return sum(line.amount for line in self.lines)

    @property
    def total(self) -> int:
        """What the account owes (invoice) or is owed (credit note): |net|."""
        return abs(self.net)

    @property
    def deferred_total(self) -> int:
        """Signed sum of the recurring, proration and credit lines (ledger 2100)."""
        return sum(line.amount for line in self.lines if line.kind != "one_time")

    @property
    def one_time_total(self) -> int:
        """Signed sum of the one-time lines (ledger 4100)."""
        return sum(line.amount for line in self.lines if line.kind == "one_time")


def line_order(charge: Charge) -> tuple[date, str, int, str, date]:
    """Sort key of a line: period start, sku, kind, then subscription and end for ties."""
    return (
        charge.start,
        charge.subscription.sku,
        KIND_ORDER[charge.kind],
        charge.subscription.subscription_id,
        charge.end_exclusive,
    )


def documents(
    charges: Iterable[Charge], as_of: date, payment_terms_days: int
) -> list[BillingDocument]:
    """The documents of one run for `charges`, by account then currency.

    `issue_date` is `as_of`; an invoice's `due_date` is as_of + payment_terms_days.
    No charges for an account and currency, no document.
    """
    grouped: dict[tuple[str, str], list[Charge]] = {}
    for charge in charges:
        key = (charge.subscription.account_id, charge.subscription.currency)
        grouped.setdefault(key, []).append(charge)
    result: list[BillingDocument] = []
    for (account_id, currency), lines in sorted(grouped.items()):
        ordered = tuple(sorted(lines, key=line_order))
        net = sum(line.amount for line in ordered)
        if net >= 0:
            due_date: date | None = as_of + timedelta(days=payment_terms_days)
            kind: DocumentKind = "invoice"
        else:
            due_date, kind = None, "credit_note"
        result.append(BillingDocument(kind, account_id, currency, as_of, due_date, ordered))
    return result


def invoice_number(sequence: int) -> str:
    """`INV-000001` for 1: gapless, in creation order."""
    return f"INV-{sequence:06d}"


def credit_note_number(sequence: int) -> str:
    """`CN-000001` for 1: gapless, in creation order."""
    return f"CN-{sequence:06d}"


def description(charge: Charge) -> str:
    """The line's text on the invoice: what, which days, and why for adjustments."""
    sub = charge.subscription
    last_day = charge.end_exclusive - timedelta(days=1)
    period = f"{charge.start.isoformat()}..{last_day.isoformat()}"
    if charge.kind == "one_time":
        return f"{sub.name} ({sub.sku})"
    if charge.kind == "recurring":
        return f"{sub.name} ({sub.sku}), {period}"
    change = "added" if charge.kind == "proration" else "removed"
    return (
        f"{sub.name} ({sub.sku}), {charge.quantity} {change} for {period} "
        f"({charge.days}/{charge.nominal_days} of the period)"
    )
