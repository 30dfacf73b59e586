"""Money as an integer count of a currency's minor unit, with exact Decimal arithmetic.

Amounts are `int` at rest and on the wire, `Decimal` only inside a calculation,
and never `float`. Rounding is revline_pricing's one round_half_up: to the minor
unit, ties away from zero, so round(-x) == -round(x) (BILLING_RULES.md section 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from revline_pricing.rounding import round_half_up

# ISO 4217 minor-unit exponents of the currencies Revline accepts.
CURRENCY_EXPONENTS: dict[str, int] = {
    "AED": 2, "AUD": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0, "CNY": 2,
    "CZK": 2, "DKK": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2,
    "INR": 2, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "MXN": 2, "MYR": 2,
    "NOK": 2, "NZD": 2, "OMR": 3, "PHP": 2, "PLN": 2, "SAR": 2, "SEK": 2, "SGD": 2,
    "THB": 2, "TND": 3, "TRY": 2, "TWD": 2, "USD": 2, "VND": 0, "ZAR": 2,
}  # fmt: skip


class MoneyError(ValueError):
    """An amount or currency that money cannot be made of."""


class UnknownCurrency(MoneyError):
    """The code is not an ISO 4217 currency Revline accepts."""

    def __init__(self, code: object) -> None:
        super().__init__(f"unknown currency {code!r}: use an ISO 4217 code such as USD")
        self.code = code


class NotMinorUnits(MoneyError):
    """A money amount that is not an integer count of minor units (a float, say)."""

    def __init__(self, value: object) -> None:
        super().__init__(
            f"amount {value!r} is not an integer in the currency's minor unit "
            "(12345 means 123.45 USD)"
        )
        self.value = value


def currency_exponent(code: str) -> int:
    """Return the number of decimals of the currency's minor unit (USD 2, JPY 0, KWD 3)."""
    try:
        return CURRENCY_EXPONENTS[code]
    except KeyError:
        raise UnknownCurrency(code) from None


def is_currency(code: object) -> bool:
    """True when `code` is an ISO 4217 code Revline accepts (upper case, three letters)."""
    return isinstance(code, str) and code in CURRENCY_EXPONENTS


def minor_units(value: Any) -> int:
    """Accept an integer amount of minor units; refuse floats, bools and strings.

    Used at every boundary where an amount enters the system, so no float ever
    becomes money.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise NotMinorUnits(value)
    return int(value)


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in the minor unit of `currency` (Money(12345, "USD") is 123.45 USD)."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        minor_units(self.amount)
        currency_exponent(self.currency)

    def times(self, factor: Decimal) -> Money:
        """Multiply exactly and round once, half up, to the minor unit.

        Raises NotFiniteAmount (a ValueError) when `factor` is NaN or infinite.
        """
        return Money(round_half_up(Decimal(self.amount) * factor), self.currency)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")

    def __str__(self) -> str:
        exponent = currency_exponent(self.currency)
        major = Decimal(self.amount).scaleb(-exponent)
        return f"{major:.{exponent}f} {self.currency}"
