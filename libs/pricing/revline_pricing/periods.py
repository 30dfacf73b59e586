"""The billing-period grid of a subscription (BILLING_RULES.md section 2).

One grid for quote and billing: the spans quote prices a term's total contract
value over are the spans billing invoices.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Final

from revline_pricing.calendar import ONE_DAY, DateSpan, add_months
from revline_pricing.errors import EndBeforeStart, InvalidBillCycleDay, UnknownBillingPeriod

PERIOD_MONTHS: Final[Mapping[str, int]] = MappingProxyType(
    {"month": 1, "quarter": 3, "half_year": 6, "year": 12}
)


def period_months(period: str) -> int:
    """Length in months of a billing period name.

    Raises UnknownBillingPeriod (a ValueError) for a name outside PERIOD_MONTHS.
    """
    try:
        return PERIOD_MONTHS[period]
    except KeyError:
        raise UnknownBillingPeriod(period) from None


def _check_bill_cycle_day(bill_cycle_day: int) -> None:
    if not 1 <= bill_cycle_day <= 31:
        raise InvalidBillCycleDay(bill_cycle_day)


def first_boundary(start: date, bill_cycle_day: int) -> date:
    """First billing boundary on or after `start`: the BCD of start's month or the next one.

    A BCD past a month's end clamps to its last day (BCD 31 in February 2028 -> 2028-02-29).
    Raises InvalidBillCycleDay (a ValueError) when bill_cycle_day is not in 1..31.
    """
    _check_bill_cycle_day(bill_cycle_day)
    same_month = add_months(start, 0, day=bill_cycle_day)
    return same_month if same_month >= start else add_months(start, 1, day=bill_cycle_day)


@dataclass(frozen=True, slots=True)
class Span:
    """A billable span and the nominal billing period [P, Q) that contains it.

    The span's share of a period's price is days / nominal_days (calendar days).
    """

    span: DateSpan
    nominal: DateSpan

    @property
    def start(self) -> date:
        """First day of the span."""
        return self.span.start

    @property
    def end(self) -> date:
        """Last day of the span, inclusive."""
        return self.span.last_day

    @property
    def end_exclusive(self) -> date:
        """The day after the span's last day."""
        return self.span.end_exclusive

    @property
    def days(self) -> int:
        """Calendar days in the span: the fraction's numerator."""
        return self.span.days

    @property
    def nominal_days(self) -> int:
        """Calendar days in the nominal period: the fraction's denominator."""
        return self.nominal.days

    @property
    def is_full_period(self) -> bool:
        """True when the span covers its whole nominal period (fraction 1)."""
        return self.span == self.nominal


def billing_spans(start: date, end_inclusive: date, period: str, bill_cycle_day: int) -> list[Span]:
    """Every span of `iter_billing_spans`, as a list. Raises as it does."""
    return list(iter_billing_spans(start, end_inclusive, period, bill_cycle_day))


def iter_billing_spans(
    start: date, end_inclusive: date, period: str, bill_cycle_day: int
) -> Iterator[Span]:
    """Spans tiling [start, end_inclusive] on the `period` grid anchored at the BCD, in
    date order, each computed only when asked for (billing plans long terms lazily).

    Boundaries are the first boundary B on or after `start`, then B + k * period months,
    each on the BCD clamped to its month's end (never drifting: 31 -> Feb 28/29 -> Mar 31).
    An off-boundary start gives a stub [start, B) whose nominal period is
    [B - period months, B); the last span ends on `end_inclusive` and keeps the full
    period starting at its start as nominal period. W1: quarter, BCD 1, start 2026-01-15
    gives the stub 2026-01-15..2026-01-31 in the nominal 2025-11-01..2026-01-31 (17/92).

    Raises at the call, before any span is asked for: UnknownBillingPeriod,
    InvalidBillCycleDay (BCD outside 1..31) or EndBeforeStart, all ValueErrors.
    """
    months = period_months(period)
    _check_bill_cycle_day(bill_cycle_day)
    if end_inclusive < start:
        raise EndBeforeStart(start, end_inclusive)
    return _spans(start, end_inclusive + ONE_DAY, months, bill_cycle_day)


def _spans(start: date, end_exclusive: date, months: int, bill_cycle_day: int) -> Iterator[Span]:
    boundary = first_boundary(start, bill_cycle_day)
    if start < boundary:
        nominal = DateSpan(add_months(boundary, -months, day=bill_cycle_day), boundary)
        yield Span(DateSpan(start, min(boundary, end_exclusive)), nominal)
    # Each boundary is computed from the first one, with the BCD, so clamping never drifts.
    anchor = boundary
    step = 1
    while boundary < end_exclusive:
        following = add_months(anchor, step * months, day=bill_cycle_day)
        nominal = DateSpan(boundary, following)
        yield Span(DateSpan(boundary, min(following, end_exclusive)), nominal)
        boundary = following
        step += 1
