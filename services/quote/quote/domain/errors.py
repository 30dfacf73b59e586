"""Typed errors raised by the quote domain; the API maps each class to a status once."""


class QuoteError(Exception):
    """A business rule of the quote service refused the step."""


class InvalidTransition(QuoteError):
    """The quote's status forbids the action (a business 409), e.g. accepting it twice."""

    def __init__(self, quote_id: str, status: str, action: str) -> None:
        super().__init__(f"quote {quote_id} is {status}; cannot {action} it")
        self.quote_id = quote_id
        self.status = status
        self.action = action


class UnknownProduct(QuoteError):
    """A quote line names a SKU that is not in the price book."""

    def __init__(self, sku: str) -> None:
        super().__init__(f"unknown product {sku}")
        self.sku = sku


class CurrencyMismatch(QuoteError):
    """A quote line's product is priced in another currency than the quote."""

    def __init__(self, sku: str, product_currency: str, quote_currency: str) -> None:
        super().__init__(
            f"product {sku} is priced in {product_currency}, the quote is in {quote_currency}"
        )
        self.sku = sku
        self.product_currency = product_currency
        self.quote_currency = quote_currency


class InvalidLine(QuoteError):
    """A quote line or term field breaks a rule (negative quantity, discount over 100...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UnknownQuote(QuoteError):
    """No quote has this id."""

    def __init__(self, quote_id: str) -> None:
        super().__init__(f"no quote {quote_id}")
        self.quote_id = quote_id


class ProductNotFound(QuoteError):
    """No product has this sku."""

    def __init__(self, sku: str) -> None:
        super().__init__(f"no product {sku}")
        self.sku = sku


class ProductExists(QuoteError):
    """The price book already has a product with this sku."""

    def __init__(self, sku: str) -> None:
        super().__init__(f"product {sku} already exists")
        self.sku = sku
