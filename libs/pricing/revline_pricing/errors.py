"""What the pricing rules refuse, as typed errors.

Every error is a ValueError, so a caller validating input can still catch that;
a service maps the ones a user can cause to its own problem types (quote's
InvalidLine, say) before it calls in here.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal


class PricingError(ValueError):
    """A pricing or calendar rule refused its input."""


class NotFiniteAmount(PricingError):
    """An amount to round is NaN or infinite: it has no value in minor units."""

    def __init__(self, value: Decimal) -> None:
        super().__init__(f"cannot round {value} to minor units: the amount is not finite")
        self.value = value


class UnknownBillingPeriod(PricingError):
    """A billing period name outside month, quarter, half_year and year."""

    def __init__(self, period: str) -> None:
        super().__init__(
            f"unknown billing period {period!r}: use month, quarter, half_year or year"
        )
        self.period = period


class InvalidBillCycleDay(PricingError):
    """A bill cycle day (or a day of the month to step to) outside 1..31."""

    def __init__(self, day: int, name: str = "bill_cycle_day") -> None:
        super().__init__(f"{name} must be in 1..31, got {day}")
        self.day = day


class InvalidDiscount(PricingError):
    """A discount percentage that is not a finite number in 0..100."""

    def __init__(self, discount_percent: Decimal) -> None:
        super().__init__(f"discount_percent must be between 0 and 100, got {discount_percent}")
        self.discount_percent = discount_percent


class SpanOutsidePeriod(PricingError):
    """A span longer than its nominal period, or a nominal period of no days."""

    def __init__(self, days: int, nominal_days: int) -> None:
        super().__init__(f"a span of {days} days does not fit a period of {nominal_days}")
        self.days = days
        self.nominal_days = nominal_days


class EndBeforeStart(PricingError):
    """A span or term whose last day comes before its first."""

    def __init__(self, start: date, end: date) -> None:
        super().__init__(f"end {end} is before start {start}")
        self.start = start
        self.end = end
