"""The quote service's table from exception class to HTTP problem: the only one."""

from __future__ import annotations

from revline_service.problems import ProblemType

from quote.domain.errors import CurrencyMismatch, InvalidLine, InvalidTransition, UnknownProduct
from quote.handlers.quotes import ProductExists, ProductNotFound, UnknownQuote

PROBLEMS: dict[type[Exception], ProblemType] = {
    UnknownQuote: ProblemType(404, "unknown-quote", "Unknown quote"),
    ProductNotFound: ProblemType(404, "unknown-product", "Unknown product"),
    ProductExists: ProblemType(409, "product-exists", "Product exists"),
    InvalidTransition: ProblemType(409, "invalid-transition", "Quote status forbids this"),
    InvalidLine: ProblemType(422, "validation", "Invalid request"),
    UnknownProduct: ProblemType(422, "validation", "Invalid request"),
    CurrencyMismatch: ProblemType(422, "validation", "Invalid request"),
}
