"""BILLING_RULES.md worked examples W1-W7: every span, its fraction and its amount."""

from datetime import date
from decimal import Decimal

from revline_pricing.periods import billing_spans
from revline_pricing.proration import net_unit_price, span_amount

Row = tuple[date, date, int, int, int]


def billed(
    start: date, end: date, period: str, bcd: int, unit_price: int, quantity: int
) -> list[Row]:
    """(first day, last day, days, nominal days, amount) for every span of the term."""
    return [
        (
            span.start,
            span.end,
            span.days,
            span.nominal_days,
            span_amount(unit_price, quantity, span.days, span.nominal_days),
        )
        for span in billing_spans(start, end, period, bcd)
    ]


def test_w1_quarter_with_stubs_bills_11087_then_full_quarters_then_48913() -> None:
    rows = billed(date(2026, 1, 15), date(2027, 1, 14), "quarter", 1, 30000, 2)
    assert rows == [
        (date(2026, 1, 15), date(2026, 1, 31), 17, 92, 11087),
        (date(2026, 2, 1), date(2026, 4, 30), 89, 89, 60000),
        (date(2026, 5, 1), date(2026, 7, 31), 92, 92, 60000),
        (date(2026, 8, 1), date(2026, 10, 31), 92, 92, 60000),
        (date(2026, 11, 1), date(2027, 1, 14), 75, 92, 48913),
    ]


def test_w1_stub_nominal_period_is_the_quarter_ending_at_the_first_boundary() -> None:
    stub = billing_spans(date(2026, 1, 15), date(2027, 1, 14), "quarter", 1)[0]
    assert (stub.nominal.start, stub.nominal.last_day) == (date(2025, 11, 1), date(2026, 1, 31))


def test_w2_year_with_leap_day_inside_bills_4603_then_120000_then_115397() -> None:
    rows = billed(date(2027, 6, 1), date(2029, 5, 31), "year", 15, 120000, 1)
    assert rows == [
        (date(2027, 6, 1), date(2027, 6, 14), 14, 365, 4603),
        (date(2027, 6, 15), date(2028, 6, 14), 366, 366, 120000),
        (date(2028, 6, 15), date(2029, 5, 31), 351, 365, 115397),
    ]


def test_w3_bcd_31_in_leap_february_bills_2031_then_3100_twice_then_100() -> None:
    rows = billed(date(2028, 2, 10), date(2028, 4, 30), "month", 31, 3100, 1)
    assert rows == [
        (date(2028, 2, 10), date(2028, 2, 28), 19, 29, 2031),
        (date(2028, 2, 29), date(2028, 3, 30), 31, 31, 3100),
        (date(2028, 3, 31), date(2028, 4, 29), 30, 30, 3100),
        (date(2028, 4, 30), date(2028, 4, 30), 1, 31, 100),
    ]


def test_w3_stub_nominal_period_runs_from_31_january_to_28_february() -> None:
    stub = billing_spans(date(2028, 2, 10), date(2028, 4, 30), "month", 31)[0]
    assert (stub.nominal.start, stub.nominal.last_day) == (date(2028, 1, 31), date(2028, 2, 28))


def test_w4_bcd_31_in_common_february_bills_1993_then_3100_twice_then_100() -> None:
    rows = billed(date(2027, 2, 10), date(2027, 4, 30), "month", 31, 3100, 1)
    assert rows == [
        (date(2027, 2, 10), date(2027, 2, 27), 18, 28, 1993),
        (date(2027, 2, 28), date(2027, 3, 30), 31, 31, 3100),
        (date(2027, 3, 31), date(2027, 4, 29), 30, 30, 3100),
        (date(2027, 4, 30), date(2027, 4, 30), 1, 31, 100),
    ]


def test_w5_1001_at_50_percent_nets_501_per_unit_and_1503_for_three() -> None:
    net = net_unit_price(1001, Decimal(50))
    assert net == 501
    assert net * 3 == 1503


def test_w5_1999_at_12_5_percent_nets_1749() -> None:
    assert net_unit_price(1999, Decimal("12.5")) == 1749


def test_w5_monthly_stub_of_unit_501_over_15_of_30_days_bills_251() -> None:
    rows = billed(date(2026, 4, 16), date(2026, 5, 31), "month", 1, 501, 1)
    assert rows[0] == (date(2026, 4, 16), date(2026, 4, 30), 15, 30, 251)


def test_w5_quarterly_stub_of_unit_4545_over_11_of_90_days_bills_556() -> None:
    rows = billed(date(2026, 3, 21), date(2026, 6, 30), "quarter", 1, 4545, 1)
    assert rows[0] == (date(2026, 3, 21), date(2026, 3, 31), 11, 90, 556)


def test_w6_jpy_9800_at_15_percent_nets_8330_and_bills_3332_then_33320() -> None:
    net = net_unit_price(9800, Decimal(15))
    assert net == 8330
    rows = billed(date(2026, 2, 20), date(2026, 5, 31), "quarter", 1, net, 4)
    assert rows == [
        (date(2026, 2, 20), date(2026, 2, 28), 9, 90, 3332),
        (date(2026, 3, 1), date(2026, 5, 31), 92, 92, 33320),
    ]


def test_w7_kwd_12500_at_7_5_percent_nets_11563_and_bills_16188_then_23126() -> None:
    net = net_unit_price(12500, Decimal("7.5"))
    assert net == 11563
    rows = billed(date(2026, 6, 10), date(2026, 7, 31), "month", 1, net, 2)
    assert rows == [
        (date(2026, 6, 10), date(2026, 6, 30), 21, 30, 16188),
        (date(2026, 7, 1), date(2026, 7, 31), 31, 31, 23126),
    ]
