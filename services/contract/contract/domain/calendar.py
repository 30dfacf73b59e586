"""Calendar arithmetic for contract terms: month steps with clamped days."""

import calendar as _stdlib_calendar
from datetime import date, timedelta

ONE_DAY = timedelta(days=1)


def add_months(d: date, months: int) -> date:
    """The date `months` months after `d`, its day clamped to the target month's last day.

    add_months(2026-01-31, 1) is 2026-02-28; add_months(2028-02-29, 12) is 2029-02-28.
    Raises ValueError when the result falls outside the calendar (year 1..9999).
    """
    year, month_index = divmod(d.year * 12 + (d.month - 1) + months, 12)
    month = month_index + 1
    if not 1 <= year <= 9999:
        raise ValueError(f"{d} + {months} months is outside the calendar")
    last = _stdlib_calendar.monthrange(year, month)[1]
    return date(year, month, min(d.day, last))


def term_end(start: date, term_months: int) -> date:
    """Last day (inclusive) of a term of `term_months` months starting on `start`.

    start + term_months months (day clamped) minus one day, the Salesforce convention
    (BILLING_RULES.md section 2): 2026-03-15 + 12 -> 2027-03-14. Clamping comes first,
    so 2028-02-29 + 12 -> 2029-02-27 (2029-02-28 minus one day).
    Raises ValueError when term_months < 1.
    """
    if term_months < 1:
        raise ValueError(f"term_months must be at least 1, got {term_months}")
    return add_months(start, term_months) - ONE_DAY
