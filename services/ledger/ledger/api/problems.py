"""The ledger service's table from exception class to HTTP problem: the only one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from revline_service.problems import ProblemType

from ledger.domain.errors import (
    CurrencyMismatch,
    CurrencyRequired,
    DateBeforeCause,
    DateRangeReversed,
    DuplicateId,
    InsufficientCustomerCredit,
    InvalidAmount,
    InvalidDocument,
    InvoiceNotOpen,
    InvoiceNotVoidable,
    InvoiceOfAnotherAccount,
    PaymentAlreadyReversed,
    PaymentCreditRefunded,
    UnknownInvoice,
    UnknownPayment,
)
from ledger.metrics.errors import InvalidMetricQuery


def _field(name: str, where: str = "body") -> Callable[[Exception], list[dict[str, Any]]]:
    """The `errors` list of a business 422: the field the rule names."""

    def errors(error: Exception) -> list[dict[str, Any]]:
        field = getattr(error, "field", name)
        return [{"field": field, "in": where, "message": str(error)}]

    return errors


PROBLEMS: dict[type[Exception], ProblemType] = {
    InvalidAmount: ProblemType(422, "validation", "Invalid request", _field("amount")),
    InvalidDocument: ProblemType(422, "invalid-document", "Invalid document"),
    DateBeforeCause: ProblemType(422, "validation", "Invalid request", _field("date")),
    InvoiceOfAnotherAccount: ProblemType(
        422, "validation", "Invalid request", _field("invoice_id")
    ),
    CurrencyMismatch: ProblemType(422, "validation", "Invalid request", _field("currency")),
    DateRangeReversed: ProblemType(422, "validation", "Invalid request", _field("to", "query")),
    CurrencyRequired: ProblemType(
        422, "validation", "Invalid request", _field("currency", "query")
    ),
    # A metrics question that can never be right (a reversed range, too many months).
    InvalidMetricQuery: ProblemType(422, "validation", "Invalid request", _field("to", "query")),
    UnknownInvoice: ProblemType(404, "unknown-invoice", "Unknown invoice"),
    UnknownPayment: ProblemType(404, "unknown-payment", "Unknown payment"),
    DuplicateId: ProblemType(409, "duplicate-id", "Already exists"),
    InvoiceNotOpen: ProblemType(409, "invoice-not-open", "Invoice is not open"),
    InvoiceNotVoidable: ProblemType(409, "invoice-not-voidable", "Invoice cannot be voided"),
    PaymentAlreadyReversed: ProblemType(409, "payment-reversed", "Payment already reversed"),
    PaymentCreditRefunded: ProblemType(
        409, "payment-credit-refunded", "Payment's credit was refunded"
    ),
    InsufficientCustomerCredit: ProblemType(
        409, "insufficient-customer-credit", "Not enough customer credit"
    ),
}
