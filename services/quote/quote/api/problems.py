"""The quote service's table from exception class to HTTP problem: the only one."""

from __future__ import annotations

from typing import Any

from revline_service.problems import ProblemType

from quote.domain.contract_fit import ContractNotActive
from quote.domain.errors import (
    CurrencyMismatch,
    InvalidLine,
    InvalidTransition,
    ProductExists,
    ProductNotFound,
    UnknownProduct,
    UnknownQuote,
)


def _bad_field(error: Exception) -> list[dict[str, Any]]:
    """The `errors` list of a business 422: the field the rule names."""
    if isinstance(error, InvalidLine):
        return [{"field": error.field, "in": "body", "message": error.message}]
    return [{"field": "lines", "in": "body", "message": str(error)}]


PROBLEMS: dict[type[Exception], ProblemType] = {
    UnknownQuote: ProblemType(404, "unknown-quote", "Unknown quote"),
    ProductNotFound: ProblemType(404, "unknown-product", "Unknown product"),
    ProductExists: ProblemType(409, "product-exists", "Product exists"),
    InvalidTransition: ProblemType(409, "invalid-transition", "Quote status forbids this"),
    ContractNotActive: ProblemType(409, "contract-not-active", "Contract is not active"),
    InvalidLine: ProblemType(422, "validation", "Invalid request", _bad_field),
    UnknownProduct: ProblemType(422, "validation", "Invalid request", _bad_field),
    CurrencyMismatch: ProblemType(422, "validation", "Invalid request", _bad_field),
}
