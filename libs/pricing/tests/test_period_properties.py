"""Property tests of the billing-period grid and of rounding."""

from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st
from revline_pricing.calendar import add_months
from revline_pricing.periods import PERIOD_MONTHS, billing_spans, first_boundary
from revline_pricing.proration import span_amount
from revline_pricing.rounding import round_half_up

periods = st.sampled_from(sorted(PERIOD_MONTHS))
bill_cycle_days = st.integers(min_value=1, max_value=31)
starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


@given(
    year=st.integers(min_value=2000, max_value=2090),
    month=st.integers(min_value=1, max_value=12),
    bcd=bill_cycle_days,
    period=periods,
    count=st.integers(min_value=1, max_value=30),
    unit_price=st.integers(min_value=0, max_value=10**9),
    quantity=st.integers(min_value=1, max_value=10**4),
)
def test_period_aligned_term_bills_exactly_quantity_times_unit_per_period(
    year: int, month: int, bcd: int, period: str, count: int, unit_price: int, quantity: int
) -> None:
    start = add_months(date(year, month, 1), 0, day=bcd)
    end = add_months(start, count * PERIOD_MONTHS[period], day=bcd) - timedelta(days=1)
    spans = billing_spans(start, end, period, bcd)
    assert len(spans) == count
    total = sum(span_amount(unit_price, quantity, s.days, s.nominal_days) for s in spans)
    assert total == unit_price * quantity * count


@given(
    start=starts,
    length=st.integers(min_value=0, max_value=3 * 366),
    period=periods,
    bcd=bill_cycle_days,
)
def test_spans_tile_the_term_and_each_lies_within_its_nominal_period(
    start: date, length: int, period: str, bcd: int
) -> None:
    end = start + timedelta(days=length)
    spans = billing_spans(start, end, period, bcd)
    assert spans[0].start == start
    assert spans[-1].end == end
    for before, after in pairwise(spans):
        assert before.end_exclusive == after.start
    months = PERIOD_MONTHS[period]
    for span in spans:
        assert span.days >= 1
        assert span.nominal.contains(span.span)
        assert 28 * months <= span.nominal_days <= 31 * months
    for span in spans[1:-1]:
        assert span.is_full_period
    first = first_boundary(start, bcd)
    boundaries = [span.start for span in spans if span.start >= first]
    for k, boundary in enumerate(boundaries):
        assert boundary == add_months(first, k * months, day=bcd)


@given(
    d=starts,
    first=st.integers(min_value=-60, max_value=60),
    second=st.integers(min_value=-60, max_value=60),
    bcd=bill_cycle_days,
)
def test_month_steps_on_a_bcd_compose_without_drift(
    d: date, first: int, second: int, bcd: int
) -> None:
    stepped = add_months(add_months(d, first, day=bcd), second, day=bcd)
    assert stepped == add_months(d, first + second, day=bcd)


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=3, min_value=-(10**15), max_value=10**15
    )
)
def test_rounding_is_symmetric_around_zero(x: Decimal) -> None:
    assert round_half_up(x.copy_negate()) == -round_half_up(x)
    assert abs(round_half_up(x) - x) <= Decimal("0.5")
