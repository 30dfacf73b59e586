"""Invoices as projected, for the handlers that change them (queries.py reads them)."""

from __future__ import annotations

from typing import Any

from revline_events.repository import Repository

from billing.store import queries


class Invoices(Repository):
    """Each invoice's row, and the invoice as the API shows it."""

    async def row(self, invoice_id: str) -> dict[str, Any] | None:
        """The invoice's row (figures, status, stream version) without lines, or None."""
        return await queries.invoice_row(self.session, invoice_id)

    async def find(self, invoice_id: str) -> dict[str, Any] | None:
        """The invoice with its lines (key `lines`) and settlements, or None."""
        return await queries.invoice(self.session, invoice_id)
