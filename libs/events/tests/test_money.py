"""Money in minor units: exponents, rounding half up away from zero, no floats, one currency.

round_half_up itself is revline_pricing's; its tests live in libs/pricing/tests.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from revline_events.money import (
    Money,
    MoneyError,
    NotMinorUnits,
    UnknownCurrency,
    currency_exponent,
    minor_units,
)


@pytest.mark.parametrize(("code", "exponent"), [("USD", 2), ("JPY", 0), ("KWD", 3)])
def test_minor_unit_exponent_follows_iso_4217(code: str, exponent: int) -> None:
    assert currency_exponent(code) == exponent


def test_an_unknown_currency_code_is_refused() -> None:
    with pytest.raises(UnknownCurrency):
        currency_exponent("XXX")
    with pytest.raises(UnknownCurrency):
        Money(100, "usd")


def test_minor_units_accepts_integers() -> None:
    assert minor_units(12345) == 12345
    assert minor_units(-1) == -1
    assert minor_units(0) == 0


@pytest.mark.parametrize("value", [1.5, 100.0, True, False, "100", Decimal("100"), None])
def test_minor_units_refuses_floats_bools_strings_and_decimals(value: object) -> None:
    with pytest.raises(NotMinorUnits):
        minor_units(value)


def test_money_cannot_be_made_of_a_float() -> None:
    with pytest.raises(NotMinorUnits):
        Money(12.34, "USD")  # type: ignore[arg-type]  # the point of the test


def test_money_adds_and_subtracts_in_one_currency() -> None:
    assert Money(1050, "USD") + Money(250, "USD") == Money(1300, "USD")
    assert Money(1050, "USD") - Money(2050, "USD") == Money(-1000, "USD")
    assert -Money(5, "JPY") == Money(-5, "JPY")


def test_money_refuses_to_mix_currencies() -> None:
    with pytest.raises(MoneyError, match="USD with EUR"):
        Money(100, "USD") + Money(100, "EUR")
    with pytest.raises(MoneyError, match="JPY with USD"):
        Money(100, "JPY") - Money(100, "USD")


def test_times_multiplies_exactly_and_rounds_once_at_the_end() -> None:
    # 17/31 is 0.548387...: rounding the share to 0.55 first would give 1705.
    assert Money(3100, "USD").times(Decimal(17) / Decimal(31)) == Money(1700, "USD")
    # 1000 x 1/3 is 333.33... and rounds once, down, to 333.
    assert Money(1000, "USD").times(Decimal(1) / Decimal(3)) == Money(333, "USD")
    # Half a cent is a tie and rounds up.
    assert Money(1, "USD").times(Decimal("0.5")) == Money(1, "USD")


def test_times_rounds_negative_halves_away_from_zero() -> None:
    assert Money(-5, "USD").times(Decimal("0.5")) == Money(-3, "USD")
    assert Money(5, "USD").times(Decimal("-0.5")) == Money(-3, "USD")


def test_money_prints_in_major_units_with_the_currency_exponent() -> None:
    assert str(Money(12345, "USD")) == "123.45 USD"
    assert str(Money(12345, "JPY")) == "12345 JPY"
    assert str(Money(12345, "KWD")) == "12.345 KWD"
    assert str(Money(-5, "USD")) == "-0.05 USD"
