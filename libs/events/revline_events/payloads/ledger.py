"""Events on `ledger.events` that other services act on.

Billing follows invoice status and amount due from `InvoiceAmountApplied`.
The ledger's own bookkeeping events are added here when the ledger is built.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

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
