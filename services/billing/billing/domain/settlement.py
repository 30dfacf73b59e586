"""Money applied to an invoice or taken back, write-offs, and what may be voided
(BILLING_RULES.md 7)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from billing.domain.errors import InvoiceNotVoidable, SettlementDoesNotFit
from billing.domain.invoice import InvoiceStatus

SettledStatus = Literal[InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID]
ReopenedStatus = Literal[
    InvoiceStatus.POSTED, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.UNCOLLECTIBLE
]


@dataclass(frozen=True, slots=True)
class Settlement:
    """An invoice's figures after an application."""

    account_id: str
    amount_paid: int
    amount_due: int
    status: SettledStatus


@dataclass(frozen=True, slots=True)
class Reopening:
    """An invoice's figures after an application was taken back."""

    account_id: str
    amount_paid: int
    amount_due: int
    status: ReopenedStatus


def settle(
    invoice: Mapping[str, Any] | None, invoice_id: str, currency: str, amount: int
) -> Settlement:
    """Apply `amount` (minor units) to the invoice: paid when nothing is left due.

    Raises SettlementDoesNotFit for an unknown, void or uncollectible invoice, another currency,
    an amount that is not positive, or more than is due.
    """
    if invoice is None:
        raise SettlementDoesNotFit(invoice_id, "no such invoice")
    if invoice["status"] in (InvoiceStatus.VOID, InvoiceStatus.UNCOLLECTIBLE):
        raise SettlementDoesNotFit(invoice_id, f"the invoice is {invoice['status']}")
    if currency != invoice["currency"]:
        raise SettlementDoesNotFit(
            invoice_id, f"{currency} applied to a {invoice['currency']} invoice"
        )
    if amount <= 0 or amount > invoice["amount_due"]:
        raise SettlementDoesNotFit(invoice_id, f"{amount} applied with {invoice['amount_due']} due")
    paid = invoice["amount_paid"] + amount
    due = invoice["total"] - paid
    return Settlement(
        invoice["account_id"],
        paid,
        due,
        InvoiceStatus.PAID if due == 0 else InvoiceStatus.PARTIALLY_PAID,
    )


def unsettle(
    invoice: Mapping[str, Any] | None, invoice_id: str, currency: str, amount: int
) -> Reopening:
    """Take back `amount` (minor units, > 0) once applied to the invoice (a reversed payment).

    Back to `partially_paid`, or `posted` when nothing is left paid; an invoice
    written off since stays `uncollectible` with nothing due. Raises
    SettlementDoesNotFit for an unknown or void invoice, another currency, or an
    amount that is not positive or above what is paid.
    """
    if invoice is None:
        raise SettlementDoesNotFit(invoice_id, "no such invoice")
    if invoice["status"] == InvoiceStatus.VOID:
        raise SettlementDoesNotFit(invoice_id, "the invoice is void")
    if currency != invoice["currency"]:
        raise SettlementDoesNotFit(
            invoice_id, f"{currency} taken back from a {invoice['currency']} invoice"
        )
    if amount <= 0 or amount > invoice["amount_paid"]:
        raise SettlementDoesNotFit(
            invoice_id, f"{amount} taken back with {invoice['amount_paid']} paid"
        )
    paid = invoice["amount_paid"] - amount
    if invoice["status"] == InvoiceStatus.UNCOLLECTIBLE:
        return Reopening(invoice["account_id"], paid, 0, InvoiceStatus.UNCOLLECTIBLE)
    status: ReopenedStatus = InvoiceStatus.PARTIALLY_PAID if paid else InvoiceStatus.POSTED
    return Reopening(invoice["account_id"], paid, invoice["total"] - paid, status)


def ensure_collectible(
    invoice: Mapping[str, Any] | None, invoice_id: str, currency: str, amount: int
) -> Mapping[str, Any]:
    """The invoice the ledger wrote off `amount` of, when that is exactly its amount due.

    Only an open invoice (posted or partially paid) is written off, and billing's
    amount due must be what the ledger wrote off: else SettlementDoesNotFit (the two
    services would disagree).
    """
    if invoice is None:
        raise SettlementDoesNotFit(invoice_id, "no such invoice")
    if invoice["status"] not in (InvoiceStatus.POSTED, InvoiceStatus.PARTIALLY_PAID):
        raise SettlementDoesNotFit(invoice_id, f"a write-off of an invoice {invoice['status']}")
    if currency != invoice["currency"]:
        raise SettlementDoesNotFit(
            invoice_id, f"{currency} written off a {invoice['currency']} invoice"
        )
    if amount != invoice["amount_due"]:
        raise SettlementDoesNotFit(
            invoice_id, f"{amount} written off with {invoice['amount_due']} due"
        )
    return invoice


def ensure_voidable(invoice: Mapping[str, Any]) -> None:
    """Only an invoice with nothing paid, neither void nor uncollectible, can be voided (else
    InvoiceNotVoidable)."""
    if (
        invoice["status"] in (InvoiceStatus.VOID, InvoiceStatus.UNCOLLECTIBLE)
        or invoice["amount_paid"] != 0
    ):
        raise InvoiceNotVoidable(invoice["id"], invoice["status"], invoice["amount_paid"])
