"""Money applied to an invoice, and what may be voided (BILLING_RULES.md 7)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from billing.domain.errors import InvoiceNotVoidable, SettlementDoesNotFit
from billing.domain.invoice import InvoiceStatus

SettledStatus = Literal[InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID]


@dataclass(frozen=True, slots=True)
class Settlement:
    """An invoice's figures after an application."""

    account_id: str
    amount_paid: int
    amount_due: int
    status: SettledStatus


def settle(
    invoice: Mapping[str, Any] | None, invoice_id: str, currency: str, amount: int
) -> Settlement:
    """Apply `amount` (minor units) to the invoice: paid when nothing is left due.

    Raises SettlementDoesNotFit for an unknown or void invoice, another currency,
    an amount that is not positive, or more than is due.
    """
    if invoice is None:
        raise SettlementDoesNotFit(invoice_id, "no such invoice")
    if invoice["status"] == InvoiceStatus.VOID:
        raise SettlementDoesNotFit(invoice_id, "the invoice is void")
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


def ensure_voidable(invoice: Mapping[str, Any]) -> None:
    """Only an invoice with nothing paid, not void yet, can be voided (else InvoiceNotVoidable)."""
    if invoice["status"] == InvoiceStatus.VOID or invoice["amount_paid"] != 0:
        raise InvoiceNotVoidable(invoice["id"], invoice["status"], invoice["amount_paid"])
