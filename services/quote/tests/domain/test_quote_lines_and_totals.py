"""Quote line pricing and totals, F1 included."""

from datetime import date
from decimal import Decimal

import pytest
from quote.domain.errors import CurrencyMismatch, InvalidLine, UnknownProduct
from quote.domain.quote import (
    LineRequest,
    Product,
    QuoteTotals,
    compute_totals,
    price_line,
    price_lines,
)

SEAT = Product("SEAT", "Seat", "USD", 5000, "recurring", "month")
SETUP = Product("SETUP", "Setup", "USD", 25000, "one_time", None)
CATALOG = {"SEAT": SEAT, "SETUP": SETUP}
F1_LINES = price_lines(
    [LineRequest("SEAT", 10, discount_percent=Decimal(10)), LineRequest("SETUP", 1)],
    CATALOG,
    "USD",
)


def test_f1_seat_line_at_10_percent_nets_4500_and_45000_per_month() -> None:
    seat = F1_LINES[0]
    assert (seat.list_price, seat.net_unit_price, seat.amount_per_period) == (5000, 4500, 45000)
    assert (seat.charge_type, seat.billing_period) == ("recurring", "month")


def test_f1_totals_are_45000_per_period_25000_one_time_and_565000_contract_value() -> None:
    totals = compute_totals(F1_LINES, date(2026, 1, 15), 12, 1)
    # Spans: 24677 (17/31) + 11 x 45000 + 20323 (14/31) = 540000, plus setup 25000.
    assert totals == QuoteTotals(
        recurring_per_period=45000, one_time=25000, total_contract_value=565000
    )


def test_bill_cycle_day_defaults_to_the_start_day_so_f1_without_bcd_is_12_full_months() -> None:
    totals = compute_totals(F1_LINES, date(2026, 1, 15), 12)
    assert totals.total_contract_value == 12 * 45000 + 25000


def test_amendment_to_12_seats_from_16_february_to_contract_end_is_worth_589458() -> None:
    lines = price_lines(
        [LineRequest("SEAT", 12, discount_percent=Decimal(10), subscription_id="sub-1")],
        CATALOG,
        "USD",
    )
    totals = compute_totals(lines, date(2026, 2, 16), bill_cycle_day=1, end_date=date(2027, 1, 14))
    # 13/28 x 54000 = 25071, 10 x 54000, 14/31 x 54000 = 24387.
    assert totals == QuoteTotals(54000, 0, 25071 + 540000 + 24387)
    assert totals.total_contract_value == 589458


def test_amendment_without_contract_end_is_worth_one_period_plus_one_time() -> None:
    totals = compute_totals(F1_LINES, date(2026, 2, 16), bill_cycle_day=1)
    assert totals == QuoteTotals(45000, 25000, 70000)


def test_totals_refuse_both_term_months_and_end_date() -> None:
    with pytest.raises(InvalidLine) as refused:
        compute_totals(F1_LINES, date(2026, 1, 15), 12, 1, end_date=date(2026, 12, 31))
    assert refused.value.field == "term_months"


def test_totals_refuse_zero_month_term_end_before_start_and_bcd_32() -> None:
    with pytest.raises(InvalidLine):
        compute_totals(F1_LINES, date(2026, 1, 15), 0, 1)
    with pytest.raises(InvalidLine):
        compute_totals(F1_LINES, date(2026, 1, 15), bill_cycle_day=1, end_date=date(2026, 1, 14))
    with pytest.raises(InvalidLine):
        compute_totals(F1_LINES, date(2026, 1, 15), 12, 32)


def test_unit_price_override_replaces_the_list_price_before_the_discount() -> None:
    line = price_line(SEAT, 3, 1001, Decimal(50), None)
    assert (line.list_price, line.net_unit_price, line.amount_per_period) == (1001, 501, 1503)


def test_line_without_discount_keeps_the_list_price_with_zero_discount() -> None:
    line = price_line(SETUP, 2, None, None, None)
    assert line.discount_percent == Decimal(0)
    assert (line.net_unit_price, line.amount_per_period) == (25000, 50000)
    assert (line.charge_type, line.billing_period) == ("one_time", None)


def test_zero_quantity_is_accepted_only_to_remove_an_existing_subscription() -> None:
    line = price_line(SEAT, 0, None, None, "sub-1")
    assert (line.quantity, line.amount_per_period, line.subscription_id) == (0, 0, "sub-1")
    with pytest.raises(InvalidLine) as refused:
        price_line(SEAT, 0, None, None, None)
    assert refused.value.field == "quantity"


def test_negative_quantity_price_and_out_of_range_discounts_are_invalid_lines() -> None:
    with pytest.raises(InvalidLine, match="quantity"):
        price_line(SEAT, -1, None, None, "sub-1")
    with pytest.raises(InvalidLine, match="unit_price"):
        price_line(SEAT, 1, -1, None, None)
    with pytest.raises(InvalidLine, match="discount_percent"):
        price_line(SEAT, 1, None, Decimal("100.01"), None)
    with pytest.raises(InvalidLine, match="discount_percent"):
        price_line(SEAT, 1, None, Decimal(-1), None)


def test_recurring_product_without_a_known_billing_period_is_refused() -> None:
    broken = Product("BAD", "Bad", "USD", 100, "recurring", "fortnight")
    with pytest.raises(InvalidLine) as refused:
        price_line(broken, 1, None, None, None)
    assert refused.value.field == "billing_period"


def test_unknown_sku_is_an_unknown_product() -> None:
    with pytest.raises(UnknownProduct) as refused:
        price_lines([LineRequest("NOPE", 1)], CATALOG, "USD")
    assert refused.value.sku == "NOPE"
    assert str(refused.value) == "unknown product NOPE"


def test_product_in_another_currency_is_a_currency_mismatch() -> None:
    with pytest.raises(CurrencyMismatch) as refused:
        price_lines([LineRequest("SEAT", 1)], CATALOG, "EUR")
    mismatch = refused.value
    assert (mismatch.sku, mismatch.product_currency, mismatch.quote_currency) == (
        "SEAT",
        "USD",
        "EUR",
    )
