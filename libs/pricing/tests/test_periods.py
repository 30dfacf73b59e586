"""The period grid as billing walks it: lazily, with its errors raised at the call."""

from datetime import date
from itertools import islice

import pytest
from revline_pricing.errors import EndBeforeStart, InvalidBillCycleDay, UnknownBillingPeriod
from revline_pricing.periods import billing_spans, iter_billing_spans, period_months


def test_iter_billing_spans_yields_the_same_spans_as_billing_spans() -> None:
    args = (date(2026, 1, 15), date(2027, 1, 14), "quarter", 1)
    assert list(iter_billing_spans(*args)) == billing_spans(*args)


def test_iter_billing_spans_computes_only_the_spans_asked_for() -> None:
    # A term to the year 9998 has about 96,000 monthly spans; taking three stays cheap.
    spans = iter_billing_spans(date(2026, 1, 15), date(9998, 12, 31), "month", 1)
    first_three = [(s.start, s.end) for s in islice(spans, 3)]
    assert first_three == [
        (date(2026, 1, 15), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 31)),
    ]


def test_iter_billing_spans_refuses_bad_input_at_the_call_not_at_the_first_span() -> None:
    with pytest.raises(UnknownBillingPeriod, match="fortnight"):
        iter_billing_spans(date(2026, 1, 1), date(2026, 12, 31), "fortnight", 1)
    with pytest.raises(InvalidBillCycleDay, match="32"):
        iter_billing_spans(date(2026, 1, 1), date(2026, 12, 31), "month", 32)
    with pytest.raises(InvalidBillCycleDay):
        iter_billing_spans(date(2026, 1, 1), date(2026, 12, 31), "month", 0)
    with pytest.raises(EndBeforeStart):
        iter_billing_spans(date(2026, 1, 2), date(2026, 1, 1), "month", 1)


def test_a_one_day_term_is_one_span() -> None:
    (span,) = billing_spans(date(2026, 3, 1), date(2026, 3, 1), "month", 1)
    assert (span.start, span.end, span.days, span.nominal_days) == (
        date(2026, 3, 1),
        date(2026, 3, 1),
        1,
        31,
    )


def test_period_lengths_are_1_3_6_and_12_months() -> None:
    assert [period_months(p) for p in ("month", "quarter", "half_year", "year")] == [1, 3, 6, 12]
    with pytest.raises(UnknownBillingPeriod):
        period_months("week")
