"""Months and inclusive date periods, the business time of every figure."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from revline_pricing import ONE_DAY, add_months

from ledger.metrics.errors import InvalidMetricQuery


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month; its figures are their values at the end of its last day."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise InvalidMetricQuery("month", f"{self.month} is not a month number")

    @classmethod
    def of(cls, day: date) -> Month:
        """The month `day` falls in."""
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str) -> Month:
        """A month from "YYYY-MM"; raises InvalidMetricQuery otherwise."""
        try:
            year, month = (int(part) for part in text.split("-"))
        except ValueError:
            raise InvalidMetricQuery("month", f"{text!r} is not YYYY-MM") from None
        return cls(year, month)

    @property
    def first_day(self) -> date:
        """The 1st of the month."""
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        """The month's last day (its figures are values at the end of it)."""
        return add_months(self.first_day, 1) - ONE_DAY

    def plus(self, months: int) -> Month:
        """The month `months` later (earlier when negative)."""
        return Month.of(add_months(self.first_day, months))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def months_between(first: Month, last: Month) -> Iterator[Month]:
    """first, first + 1, ..., last (inclusive); raises InvalidMetricQuery when last < first."""
    if last < first:
        raise InvalidMetricQuery("to", f"{last} is before {first}")
    month = first
    while month <= last:
        yield month
        month = month.plus(1)


@dataclass(frozen=True)
class Period:
    """Dates `first` to `last`, both inclusive; raises InvalidMetricQuery when last < first."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise InvalidMetricQuery("to", f"{self.last} is before {self.first}")

    @classmethod
    def of_month(cls, month: Month) -> Period:
        """The whole month."""
        return cls(month.first_day, month.last_day)

    def contains(self, day: date) -> bool:
        """Whether `day` falls in the period."""
        return self.first <= day <= self.last
