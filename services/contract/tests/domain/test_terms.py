"""Term ends and renewal terms, with exact dates (BILLING_RULES.md sections 2 and 5)."""

from __future__ import annotations

from datetime import date

import pytest
from contract.domain.renewal import Term, renewal_term
from contract_factories import contract
from revline_pricing.calendar import add_months, term_end


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (date(2026, 1, 15), 12, date(2027, 1, 14)),  # F1
        (date(2026, 3, 15), 12, date(2027, 3, 14)),  # W15
        (date(2026, 1, 1), 12, date(2026, 12, 31)),  # W13
        (date(2028, 2, 29), 12, date(2029, 2, 27)),  # leap day: 2029-02-28 (clamped) - 1
        (date(2028, 2, 29), 48, date(2032, 2, 28)),  # four years on, 2032-02-29 exists
        (date(2027, 2, 28), 12, date(2028, 2, 27)),  # not 2028-02-28: the day stays the 28th
        (date(2026, 1, 31), 1, date(2026, 2, 27)),  # 2026-02-28 (clamped) - 1
        (date(2026, 1, 31), 2, date(2026, 3, 30)),  # back to a 31-day month: 03-31 - 1
        (date(2026, 3, 31), 1, date(2026, 4, 29)),  # 04-30 (clamped) - 1
        (date(2026, 12, 1), 1, date(2026, 12, 31)),  # over the year end
        (date(2026, 1, 1), 120, date(2035, 12, 31)),
    ],
)
def test_a_term_ends_the_day_before_start_plus_its_months(
    start: date, months: int, end: date
) -> None:
    assert term_end(start, months) == end


def test_a_term_of_no_months_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        term_end(date(2026, 1, 1), 0)


def test_month_steps_clamp_to_the_end_of_short_months() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 5, 31), -3) == date(2026, 2, 28)


def test_w15_renewal_runs_from_the_day_after_the_end_for_the_same_months() -> None:
    current = contract(date(2026, 3, 15), 12, bill_cycle_day=1)
    assert current.end_date == date(2027, 3, 14)

    assert renewal_term(current) == Term(date(2027, 3, 15), date(2028, 3, 14), 12)


def test_a_renewal_quote_may_choose_another_term_length() -> None:
    current = contract(date(2026, 3, 15), 12)

    assert renewal_term(current, 24) == Term(date(2027, 3, 15), date(2029, 3, 14), 24)


def test_the_renewal_of_a_leap_day_contract_starts_on_28_february() -> None:
    current = contract(date(2028, 2, 29), 12)
    assert current.end_date == date(2029, 2, 27)

    assert renewal_term(current) == Term(date(2029, 2, 28), date(2030, 2, 27), 12)


def test_a_bcd_31_contract_renews_from_the_31st_and_keeps_its_bcd() -> None:
    current = contract(date(2026, 1, 31), 12, bill_cycle_day=31)
    assert current.end_date == date(2027, 1, 30)

    assert renewal_term(current) == Term(date(2027, 1, 31), date(2028, 1, 30), 12)
    assert current.bill_cycle_day == 31
