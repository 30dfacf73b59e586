"""Money on the page: major units with the currency's decimals, from integers."""

from __future__ import annotations

from decimal import Decimal

from ledger.dashboard.money import major, percent


def test_m1_april_mrr_172000_eur_cents_shows_as_1_720_00() -> None:
    assert major(172000, "EUR") == "1,720.00"


def test_thousands_are_separated_and_small_amounts_keep_their_leading_zeros() -> None:
    assert major(206400000, "EUR") == "2,064,000.00"
    assert major(5, "USD") == "0.05"
    assert major(0, "USD") == "0.00"


def test_negative_amounts_keep_their_sign_and_are_not_rounded() -> None:
    assert major(-833, "EUR") == "-8.33"
    assert major(-1, "EUR") == "-0.01"


def test_each_currency_takes_its_own_exponent() -> None:
    assert major(123456, "JPY") == "123,456"
    assert major(123456, "KWD") == "123.456"
    # A code ISO 4217 does not list (tests book such codes) shows two decimals.
    assert major(123456, "XQZ") == "1,234.56"


def test_a_rate_without_a_base_shows_a_dash() -> None:
    assert percent(Decimal("33.33")) == "33.33 %"
    assert percent(None) == "\u2014"
