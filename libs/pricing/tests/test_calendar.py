"""Month arithmetic, inclusive term ends and date spans."""

from datetime import date

import pytest
from revline_pricing.calendar import DateSpan, add_months, term_end
from revline_pricing.periods import billing_spans, first_boundary


def test_twelve_month_term_from_15_january_2026_ends_14_january_2027() -> None:
    assert term_end(date(2026, 1, 15), 12) == date(2027, 1, 14)


def test_one_month_term_from_31_january_ends_27_february_after_clamping_to_the_28th() -> None:
    # start + 1 month clamps to 2026-02-28; the inclusive end is the day before.
    assert term_end(date(2026, 1, 31), 1) == date(2026, 2, 27)


def test_year_term_from_leap_day_2028_ends_27_february_2029() -> None:
    # 2028-02-29 + 12 months clamps to 2029-02-28; the inclusive end is the day before.
    assert term_end(date(2028, 2, 29), 12) == date(2029, 2, 27)


def test_term_of_zero_months_is_refused() -> None:
    with pytest.raises(ValueError):
        term_end(date(2026, 1, 1), 0)


def test_add_months_clamps_31_january_to_end_of_february() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)


def test_add_months_with_explicit_day_returns_to_the_31st_after_february() -> None:
    assert add_months(date(2026, 2, 28), 1, day=31) == date(2026, 3, 31)


def test_add_months_steps_backwards_across_a_year() -> None:
    assert add_months(date(2026, 2, 1), -3) == date(2025, 11, 1)


def test_add_months_refuses_day_32() -> None:
    with pytest.raises(ValueError):
        add_months(date(2026, 1, 1), 1, day=32)


def test_bcd_31_monthly_boundaries_never_drift_over_a_year() -> None:
    spans = billing_spans(date(2027, 1, 31), date(2028, 1, 30), "month", 31)
    assert [span.start for span in spans] == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
        date(2027, 5, 31),
        date(2027, 6, 30),
        date(2027, 7, 31),
        date(2027, 8, 31),
        date(2027, 9, 30),
        date(2027, 10, 31),
        date(2027, 11, 30),
        date(2027, 12, 31),
    ]
    assert all(span.is_full_period for span in spans)


def test_bcd_31_in_leap_year_lands_on_29_february_then_31_march() -> None:
    starts = [s.start for s in billing_spans(date(2028, 1, 31), date(2028, 4, 29), "month", 31)]
    assert starts == [date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31)]


def test_first_boundary_is_in_the_same_month_when_start_is_on_or_before_the_bcd() -> None:
    assert first_boundary(date(2026, 1, 15), 15) == date(2026, 1, 15)
    assert first_boundary(date(2026, 1, 15), 20) == date(2026, 1, 20)
    assert first_boundary(date(2026, 1, 15), 1) == date(2026, 2, 1)
    assert first_boundary(date(2027, 2, 28), 31) == date(2027, 2, 28)


def test_date_span_counts_days_and_knows_its_inclusive_last_day() -> None:
    january = DateSpan(date(2026, 1, 1), date(2026, 2, 1))
    assert january.days == 31
    assert january.last_day == date(2026, 1, 31)
    assert DateSpan.inclusive(date(2026, 1, 1), date(2026, 1, 31)) == january


def test_date_span_contains_spans_inside_it_and_not_overhanging_ones() -> None:
    january = DateSpan(date(2026, 1, 1), date(2026, 2, 1))
    assert january.contains(DateSpan(date(2026, 1, 15), date(2026, 2, 1)))
    assert january.contains(january)
    assert not january.contains(DateSpan(date(2026, 1, 15), date(2026, 2, 2)))
    assert not january.contains(DateSpan(date(2025, 12, 31), date(2026, 1, 10)))


def test_date_span_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError):
        DateSpan(date(2026, 1, 2), date(2026, 1, 1))


def test_billing_spans_refuse_unknown_period_and_bcd_32() -> None:
    with pytest.raises(ValueError):
        billing_spans(date(2026, 1, 1), date(2026, 12, 31), "fortnight", 1)
    with pytest.raises(ValueError):
        billing_spans(date(2026, 1, 1), date(2026, 12, 31), "month", 32)


def test_term_shorter_than_the_stub_is_one_span_in_the_stubs_nominal_period() -> None:
    (span,) = billing_spans(date(2026, 1, 15), date(2026, 1, 20), "quarter", 1)
    assert (span.start, span.end, span.days, span.nominal_days) == (
        date(2026, 1, 15),
        date(2026, 1, 20),
        6,
        92,
    )
