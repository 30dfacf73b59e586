"""Half-up rounding with ties away from zero, net unit prices and span amounts."""

from decimal import Decimal

import pytest
from quote.domain.pricing import net_unit_price, span_amount
from quote.domain.rounding import round_half_up


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
