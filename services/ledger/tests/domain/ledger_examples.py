"""Builders for the ledger's domain tests: documents as billing would hand them over, and
entries written the way BILLING_RULES.md writes them ("Dr 1100 12000; Cr 2100 12000")."""

from __future__ import annotations

from datetime import date

from ledger.domain.documents import CreditNote, DocumentLine, Invoice, LineKind
from ledger.domain.journal import JournalEntry
from ledger.domain.ledger import Ledger

D = date.fromisoformat


def line(
    kind: str, amount: int, first: str, last: str | None = None, line_no: int = 1
) -> DocumentLine:
    """A line of `kind` for [first, last] (inclusive; one day when `last` is left out)."""
    return DocumentLine(line_no, LineKind(kind), D(first), D(last or first), amount)


def invoice(
    number: str,
    invoice_date: str,
    due_date: str,
    *lines: DocumentLine,
    account_id: str = "acme",
    currency: str = "USD",
) -> Invoice:
    """An invoice whose id is its number; lines are renumbered 1, 2, ..."""
    numbered = tuple(
        DocumentLine(i, x.kind, x.period_start, x.period_end, x.amount)
        for i, x in enumerate(lines, 1)
    )
    return Invoice(number, number, account_id, currency, D(invoice_date), D(due_date), numbered)


def credit_note(
    number: str, issue_date: str, *lines: DocumentLine, account_id: str = "acme",
    currency: str = "USD",
) -> CreditNote:  # fmt: skip
    """A credit note whose id is its number."""
    numbered = tuple(
        DocumentLine(i, x.kind, x.period_start, x.period_end, x.amount)
        for i, x in enumerate(lines, 1)
    )
    return CreditNote(number, number, account_id, currency, D(issue_date), numbered)


def written(entry: JournalEntry) -> tuple[str, str]:
    """(date, "Dr 1000 20000; Cr 1100 15000; Cr 2200 5000"): debits first, each in chart order."""
    debits = [f"Dr {x.account} {x.debit}" for x in entry.lines if x.debit]
    credits = [f"Cr {x.account} {x.credit}" for x in entry.lines if x.credit]
    return entry.entry_date.isoformat(), "; ".join(debits + credits)


def journal(ledger: Ledger, start: int = 0) -> list[tuple[str, str]]:
    """The ledger's entries from `start` on, as written()."""
    return [written(entry) for entry in ledger.journal[start:]]


def w18_first_invoice() -> Invoice:
    """W18's INV-000001: 15000 of recurring service, open."""
    return invoice(
        "INV-000001",
        "2026-01-01",
        "2026-01-31",
        line("recurring", 15000, "2026-01-01", "2026-01-31"),
    )


def w18_second_invoice() -> Invoice:
    """W18's INV-000002: 12000 of recurring service, posted 2026-03-01."""
    return invoice(
        "INV-000002",
        "2026-03-01",
        "2026-03-31",
        line("recurring", 12000, "2026-03-01", "2026-03-31"),
    )


def f1_invoices() -> tuple[Invoice, Invoice, Invoice]:
    """F1's three invoices, as billed (BILLING_RULES.md, F1)."""
    return (
        invoice(
            "INV-000001",
            "2026-01-15",
            "2026-02-14",
            line("one_time", 25000, "2026-01-15"),
            line("recurring", 24677, "2026-01-15", "2026-01-31"),
        ),
        invoice(
            "INV-000002",
            "2026-02-01",
            "2026-03-03",
            line("recurring", 45000, "2026-02-01", "2026-02-28"),
        ),
        invoice(
            "INV-000003",
            "2026-03-01",
            "2026-03-31",
            line("proration", 4179, "2026-02-16", "2026-02-28"),
            line("recurring", 54000, "2026-03-01", "2026-03-31"),
        ),
    )


def f1_ledger() -> Ledger:
    """F1 through the payment of 2026-03-05, recognising daily as the service does."""
    ledger = Ledger()
    first, second, third = f1_invoices()
    ledger.post_invoice(first)
    ledger.recognise(D("2026-01-31"))
    ledger.post_invoice(second)
    ledger.recognise(D("2026-02-28"))
    ledger.post_invoice(third)
    ledger.recognise(D("2026-03-04"))
    ledger.receive_payment("pay-1", "acme", 150000, "USD", D("2026-03-05"), "wire 1")
    return ledger
