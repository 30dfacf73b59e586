"""Money as people read it on the page: major units, the currency's decimals, thousands
separated; from integer minor units, never through a float."""

from __future__ import annotations

from decimal import Decimal

from revline_events.money import CURRENCY_EXPONENTS

# The ledger books any three capitals (tests use codes of their own); one ISO 4217 does
# not list is shown with two decimals, the common case.
DEFAULT_EXPONENT = 2


def exponent(currency: str) -> int:
    """Decimals of the currency's minor unit (EUR 2, JPY 0, KWD 3); 2 for a code not listed."""
    return CURRENCY_EXPONENTS.get(currency, DEFAULT_EXPONENT)


def major(amount: int, currency: str) -> str:
    """`amount` minor units as major units: 172000 EUR -> "1,720.00", -833 -> "-8.33",
    5 JPY -> "5". Exact: integer division, no rounding."""
    places = exponent(currency)
    sign = "-" if amount < 0 else ""
    whole, part = divmod(abs(amount), 10**places)
    text = f"{sign}{whole:,}"
    return f"{text}.{part:0{places}d}" if places else text


def percent(value: Decimal | None) -> str:
    """A rate's percentage ("33.33 %"), or an em dash when it has no base."""
    return "\u2014" if value is None else f"{value} %"
