"""Calendar arithmetic the period grid stands on: month steps with clamped days, spans, terms.

Moved here from the kernel: these are BILLING_RULES.md section 2's day rules
(a BCD past a month's end clamps to its last day; a term ends on start +
term_months months minus one day), and every service that needs them prices or
dates a subscription.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from dataclasses import dataclass
from datetime import date, timedelta

from revline_pricing.errors import EndBeforeStart, InvalidBillCycleDay, PricingError

ONE_DAY = timedelta(days=1)


def add_months(d: date, months: int, day: int | None = None) -> date:
    """The date `months` months after `d` (before it when negative), on `day`.

    `day` defaults to d.day and is clamped to the target month's last day, so
    add_months(2026-01-31, 1) is 2026-02-28. Pass the bill cycle day explicitly to
    step along a grid without drifting: add_months(2026-02-28, 1, day=31) is 2026-03-31.
    Raises InvalidBillCycleDay (a ValueError) when `day` is not in 1..31.
    """
    target_day = d.day if day is None else day
    if not 1 <= target_day <= 31:
        raise InvalidBillCycleDay(target_day, name="day")
    year, month_index = divmod(d.year * 12 + (d.month - 1) + months, 12)
    month = month_index + 1
    last = _stdlib_calendar.monthrange(year, month)[1]
    return date(year, month, min(target_day, last))


def term_end(start: date, term_months: int) -> date:
    """Last day (inclusive) of a term of `term_months` months starting on `start`.

    start + term_months months (day clamped) minus one day, the Salesforce convention:
    2026-01-15 + 12 -> 2027-01-14. Clamping comes first, so a term starting on the 31st
    or on 29 February ends a day early in a short month: 2026-01-31 + 1 -> 2026-02-27
    (2026-02-28 minus one day) and 2028-02-29 + 12 -> 2029-02-27.
    Raises PricingError (a ValueError) when term_months < 1.
    """
    if term_months < 1:
        raise PricingError(f"term_months must be at least 1, got {term_months}")
    return add_months(start, term_months) - ONE_DAY


@dataclass(frozen=True, slots=True)
class DateSpan:
    """Calendar days [start, end_exclusive); may be empty, never reversed.

    Raises EndBeforeStart (a ValueError) when end_exclusive is before start.
    """

    start: date
    end_exclusive: date

    def __post_init__(self) -> None:
        if self.end_exclusive < self.start:
            raise EndBeforeStart(self.start, self.end_exclusive)

    @classmethod
    def inclusive(cls, start: date, last_day: date) -> DateSpan:
        """The span from `start` through `last_day`, both inclusive."""
        return cls(start, last_day + ONE_DAY)

    @property
    def days(self) -> int:
        """Number of calendar days in the span."""
        return (self.end_exclusive - self.start).days

    @property
    def last_day(self) -> date:
        """Last day in the span (inclusive); for an empty span, the day before start."""
        return self.end_exclusive - ONE_DAY

    def contains(self, other: DateSpan) -> bool:
        """True when every day of `other` lies within this span."""
        return self.start <= other.start and other.end_exclusive <= self.end_exclusive
