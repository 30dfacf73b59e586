"""The billing service's table from exception class to HTTP problem: the only one."""

from __future__ import annotations

from revline_service.problems import ProblemType

from billing.domain.errors import (
    InvoiceNotVoidable,
    PreviewDoesNotFit,
    UnknownBillRun,
    UnknownCreditNote,
    UnknownInvoice,
)

PROBLEMS: dict[type[Exception], ProblemType] = {
    UnknownInvoice: ProblemType(404, "unknown-invoice", "Unknown invoice"),
    UnknownCreditNote: ProblemType(404, "unknown-credit-note", "Unknown credit note"),
    UnknownBillRun: ProblemType(404, "unknown-bill-run", "Unknown bill run"),
    InvoiceNotVoidable: ProblemType(409, "invoice-not-voidable", "Invoice cannot be voided"),
    PreviewDoesNotFit: ProblemType(422, "validation", "Invalid request", PreviewDoesNotFit.errors),
}
