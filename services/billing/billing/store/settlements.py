"""The invoices a payment or credit applied in the ledger settles, for the consumer."""

from __future__ import annotations

from typing import Any

from revline_events.repository import Repository

from billing.store import queries


class Settlements(Repository):
    """What settling an invoice from ledger.events needs to read."""

    async def invoice(self, invoice_id: str) -> dict[str, Any] | None:
        """The invoice's row (status, amounts, stream version) without lines, or None."""
        return await queries.invoice_row(self.session, invoice_id)
