"""Gapless invoice and credit-note numbers (BILLING_RULES.md 3).

The last number of each kind is a row of `document_numbers`, moved on by the
projector as documents are recorded. A transaction that numbers documents locks
those rows first and holds them until commit, so numbers are taken in commit
order: no gap after a rollback, no number twice under concurrent runs.
"""

from __future__ import annotations

from collections.abc import Mapping

from revline_events.repository import Repository
from sqlalchemy import select, text

from billing.domain.invoice import DocumentKind, credit_note_number, invoice_number
from billing.store.tables import document_numbers

NUMBERS_LOCK = 0x42494C4C  # "BILL": the advisory lock key of document numbering


class NextNumbers:
    """The next invoice and credit-note numbers of one transaction, which holds the
    counters locked (`DocumentNumbers.lock`) until it commits."""

    def __init__(self, last: Mapping[str, int]) -> None:
        self._last = dict(last)

    def invoice(self) -> str:
        """The next invoice number, `INV-000001` first."""
        return invoice_number(self._take("invoice"))

    def credit_note(self) -> str:
        """The next credit-note number, `CN-000001` first."""
        return credit_note_number(self._take("credit_note"))

    def _take(self, kind: DocumentKind) -> int:
        self._last[kind] = self._last.get(kind, 0) + 1
        return self._last[kind]


class DocumentNumbers(Repository):
    """The counters of invoice and credit-note numbers."""

    async def lock(self) -> NextNumbers:
        """Lock the counters until commit and return the numbers that follow them."""
        connection = await self.session.connection()
        if connection.dialect.name == "postgresql":
            # Row locks cannot cover the first number (no row yet): a transaction-scoped
            # advisory lock serialises numbering until commit.
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": NUMBERS_LOCK}
            )
        stmt = select(document_numbers).with_for_update()
        rows = (await self.session.execute(stmt)).mappings()
        return NextNumbers({r["kind"]: r["last_number"] for r in rows})
