"""Business errors of billing; api/problems.py maps each to its HTTP status once."""

from __future__ import annotations

from typing import Any


class BillingError(Exception):
    """A billing rule refused the step."""


class UnknownInvoice(BillingError):
    """No invoice has this id."""

    def __init__(self, invoice_id: str) -> None:
        super().__init__(f"no invoice {invoice_id}")
        self.invoice_id = invoice_id


class UnknownCreditNote(BillingError):
    """No credit note has this id."""

    def __init__(self, credit_note_id: str) -> None:
        super().__init__(f"no credit note {credit_note_id}")
        self.credit_note_id = credit_note_id


class UnknownBillRun(BillingError):
    """No bill run has this id."""

    def __init__(self, bill_run_id: str) -> None:
        super().__init__(f"no bill run {bill_run_id}")
        self.bill_run_id = bill_run_id


class InvoiceNotVoidable(BillingError):
    """Only a posted invoice with nothing paid, neither void nor uncollectible, can be voided
    (BILLING_RULES.md 7)."""

    def __init__(self, invoice_id: str, status: str, amount_paid: int) -> None:
        if status in ("void", "uncollectible"):
            reason = f"it is {status}" + (" already" if status == "void" else "")
        else:
            reason = f"{amount_paid} is paid on it"
        super().__init__(f"invoice {invoice_id} cannot be voided: {reason}")
        self.invoice_id = invoice_id


class OrderDoesNotFit(BillingError):
    """An order names a subscription billing cannot place (unknown, or known twice).

    Raised while taking in order.events; the event goes to the dead-letter topic.
    """

    def __init__(self, order_id: str, subscription_id: str, reason: str) -> None:
        super().__init__(f"order {order_id}, subscription {subscription_id}: {reason}")
        self.order_id = order_id
        self.subscription_id = subscription_id


class SettlementDoesNotFit(BillingError):
    """A payment application names an invoice billing cannot apply it to."""

    def __init__(self, invoice_id: str, reason: str) -> None:
        super().__init__(f"invoice {invoice_id}: {reason}")
        self.invoice_id = invoice_id


class PreviewDoesNotFit(BillingError):
    """A draft amendment names what the account's schedules do not have."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.field_errors = errors

    @staticmethod
    def errors(error: Exception) -> list[dict[str, Any]]:
        """The problem's `errors` list: each field the preview could not use."""
        if not isinstance(error, PreviewDoesNotFit):
            raise TypeError(f"{type(error).__name__} is not a PreviewDoesNotFit")
        return error.field_errors
