"""Half-up rounding with ties away from zero, net unit prices and span amounts."""

from decimal import Decimal

import pytest
from revline_pricing.errors import (
    InvalidDiscount,
    NotFiniteAmount,
    PricingError,
    SpanOutsidePeriod,
)
from revline_pricing.proration import net_unit_price, span_amount, span_formula
from revline_pricing.rounding import round_half_up


def test_positive_ties_round_away_from_zero() -> None:
    assert round_half_up(Decimal("555.5")) == 556
    assert round_half_up(Decimal("0.5")) == 1
    assert round_half_up(Decimal("2.5")) == 3


def test_negative_ties_round_away_from_zero() -> None:
    assert round_half_up(Decimal("-555.5")) == -556
    assert round_half_up(Decimal("-0.5")) == -1
    assert round_half_up(Decimal("-2.5")) == -3


def test_non_ties_round_to_nearest_for_both_signs() -> None:
    assert round_half_up(Decimal("1749.125")) == 1749
    assert round_half_up(Decimal("-1749.125")) == -1749
    assert round_half_up(Decimal("24677.419")) == 24677
    assert round_half_up(Decimal("-5805.6")) == -5806


def test_rounding_refuses_nan_and_infinity() -> None:
    with pytest.raises(ValueError):
        round_half_up(Decimal("NaN"))
    with pytest.raises(ValueError):
        round_half_up(Decimal("Infinity"))


def test_span_amount_multiplies_first_so_4545_times_11_of_90_is_556() -> None:
    assert span_amount(4545, 1, 11, 90) == 556


def test_net_unit_is_rounded_per_unit_so_three_units_at_1001_less_half_cost_1503() -> None:
    assert net_unit_price(1001, Decimal(50)) * 3 == 1503
    assert span_amount(net_unit_price(1001, Decimal(50)), 3, 30, 30) == 1503


def test_negative_quantity_credits_are_rounded_symmetrically() -> None:
    assert span_amount(5000, -3, 12, 31) == -5806
    assert span_amount(5000, 3, 12, 31) == 5806


def test_full_discount_nets_zero_and_no_discount_keeps_the_list_price() -> None:
    assert net_unit_price(1999, Decimal(100)) == 0
    assert net_unit_price(1999, Decimal(0)) == 1999


def test_span_longer_than_its_period_is_refused() -> None:
    with pytest.raises(ValueError):
        span_amount(100, 1, 32, 31)
    with pytest.raises(ValueError):
        span_amount(100, 1, 0, 0)


# Moved from libs/events/tests/test_money.py with the kernel's copy of round_half_up.


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        (Decimal("2.5"), 3),
        (Decimal("-2.5"), -3),
        (Decimal("0.5"), 1),
        (Decimal("-0.5"), -1),
        (Decimal("2.4999"), 2),
        (Decimal("-2.4999"), -2),
        (Decimal("2.5001"), 3),
        (Decimal("7"), 7),
    ],
)
def test_round_half_up_sends_ties_away_from_zero(value: Decimal, rounded: int) -> None:
    assert round_half_up(value) == rounded


def test_rounding_a_negative_amount_mirrors_the_positive_one() -> None:
    for tenths in range(-50, 51):
        value = Decimal(tenths) / 10
        assert round_half_up(-value) == -round_half_up(value)


# The one rounding refuses what has no value, with a typed error that says so.


def test_rounding_nan_or_infinity_raises_not_finite_amount_naming_the_value() -> None:
    for value in ("NaN", "sNaN", "Infinity", "-Infinity"):
        with pytest.raises(NotFiniteAmount, match="not finite") as raised:
            round_half_up(Decimal(value))
        assert isinstance(raised.value, PricingError)
        assert isinstance(raised.value, ValueError)


def test_a_span_outside_its_period_raises_span_outside_period() -> None:
    with pytest.raises(SpanOutsidePeriod) as raised:
        span_amount(100, 1, 32, 31)
    assert (raised.value.days, raised.value.nominal_days) == (32, 31)
    with pytest.raises(SpanOutsidePeriod):
        span_amount(100, 1, -1, 31)


@pytest.mark.parametrize("discount", ["-0.01", "100.01", "NaN", "Infinity"])
def test_a_discount_outside_0_to_100_is_refused(discount: str) -> None:
    with pytest.raises(InvalidDiscount):
        net_unit_price(1999, Decimal(discount))


# span_formula: how a line got its amount, as billing shows it (moved from billing).


def test_span_formula_shows_the_exact_quotient_to_two_decimals_then_the_amount() -> None:
    assert span_formula(4500, 2, 13, 28) == "4500 x 2 x 13/28 = 4178.57 -> 4179"
    assert span_formula(5000, 5, 21, 31) == "5000 x 5 x 21/31 = 16935.48 -> 16935"


def test_span_formula_of_a_credit_shows_the_negative_quantity_and_amount() -> None:
    assert span_formula(5000, -3, 12, 31) == "5000 x -3 x 12/31 = -5806.45 -> -5806"


def test_span_formula_of_a_whole_quotient_shows_it_without_decimals() -> None:
    assert span_formula(3100, 1, 17, 31) == "3100 x 1 x 17/31 = 1700 -> 1700"


def test_span_formula_of_a_full_period_is_unit_times_quantity() -> None:
    assert span_formula(4500, 10, 28, 28) == "4500 x 10 = 45000"
