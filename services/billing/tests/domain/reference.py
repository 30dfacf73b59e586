"""A reference model of BILLING_RULES.md sections 1 to 6, written from the rules alone.

It imports nothing of billing.domain, only the standard library (datetime, calendar;
money in plain ints), so a property test can hold the billing domain against it. It
knows, for each recurring subscription of one contract:

- its period grid (section 2): boundaries on the BCD, clamped to the month's end and
  never drifting, a stub from an off-boundary start, the last span ending on the
  end date (the contract end, or T - 1 after a termination), each span with the
  nominal period containing it;
- the quantity in force on each day (sections 4, 5): the latest change effective on
  or before that day, the later received winning a tie; 0 before the subscription
  starts and from the termination date T on;
- the orders behind each day (section 6: "items of an order on hold ... are not
  billed"): every order with a change effective on or before it (the new order,
  each amendment, the termination from T on); a day bills only on a run that all
  of them allow;
- the quantity that must be billed, net, on each day: the quantity in force; from T
  on after a termination with credit_unused 0 (W13); without it, 0 on days not billed
  when the termination came, else the quantity in force on T - 1 (the termination adds
  no line, W14, while an amendment effective before T adjusts its billed spans to
  their end, section 4). Where a change effective on or after T was in force on a
  day billed by then, the rules do not say whether it stays billed (nothing credited)
  or not (nothing bills past end_date): both are accepted;
- the amount of a line: round_half_up(unit_price * quantity * days / nominal_days),
  multiplied first, divided once, ties away from zero (section 1).

Dates are half-open: `end_exclusive` is the day after the last day.
"""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

ONE_DAY = timedelta(days=1)
PERIOD_MONTHS = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}


def add_months(d: date, months: int, day: int) -> date:
    """`months` months after d's month, on `day` clamped to that month's last day."""
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day, last))


def term_end(start: date, term_months: int) -> date:
    """start + term_months months (day clamped) minus one day (section 2)."""
    return add_months(start, term_months, start.day) - ONE_DAY


def line_amount(unit_price: int, signed_quantity: int, days: int, nominal_days: int) -> int:
    """round_half_up(unit_price * quantity * days / nominal_days), exactly (section 1)."""
    numerator = unit_price * signed_quantity * days
    magnitude = (2 * abs(numerator) + nominal_days) // (2 * nominal_days)
    return magnitude if numerator >= 0 else -magnitude


@dataclass(frozen=True, slots=True)
class Span:
    """A billing span [start, end_exclusive) and its nominal period."""

    start: date
    end_exclusive: date
    nominal_start: date
    nominal_end_exclusive: date

    @property
    def nominal_days(self) -> int:
        return (self.nominal_end_exclusive - self.nominal_start).days

    def due_date(self, timing: str) -> date:
        """First as_of that bills it: its start (advance), the day after it (arrears)."""
        return self.start if timing == "advance" else self.end_exclusive

    def contains(self, start: date, end_exclusive: date) -> bool:
        return self.start <= start and end_exclusive <= self.end_exclusive


def grid(start: date, end_inclusive: date, period: str, bill_cycle_day: int) -> list[Span]:
    """The spans tiling [start, end_inclusive] (section 2; W1 to W4)."""
    if end_inclusive < start:
        return []
    months = PERIOD_MONTHS[period]
    end_exclusive = end_inclusive + ONE_DAY
    # First boundary on or after start: the BCD of start's month, else of the next.
    first = add_months(start, 0, bill_cycle_day)
    if first < start:
        first = add_months(start, 1, bill_cycle_day)
    spans: list[Span] = []
    if start < first:
        nominal_start = add_months(first, -months, bill_cycle_day)
        spans.append(Span(start, min(first, end_exclusive), nominal_start, first))
    k = 0
    while True:
        lower = add_months(first, k * months, bill_cycle_day)
        if lower >= end_exclusive:
            break
        upper = add_months(first, (k + 1) * months, bill_cycle_day)
        spans.append(Span(lower, min(upper, end_exclusive), lower, upper))
        k += 1
    return spans


@dataclass(frozen=True, slots=True)
class Change:
    """From `effective` on, `quantity` units, set by `order_id`; `sequence` breaks ties."""

    effective: date
    sequence: int
    quantity: int
    order_id: str


@dataclass(frozen=True, slots=True)
class Termination:
    """T, the first day without service, and whether unused billed days are credited."""

    first_day_without_service: date
    credit_unused: bool
    order_id: str
    sequence: int


@dataclass
class Subscription:
    """One recurring subscription as the rules see it."""

    subscription_id: str
    period: str
    unit_price: int
    bill_cycle_day: int
    timing: str
    start: date
    end: date  # inclusive: the contract end (co-terminated, W12)
    changes: list[Change] = field(default_factory=list)
    termination: Termination | None = None
    # What was billed when the termination came: every line as (start, end_exclusive,
    # signed qty), and the recurring lines' days.
    billed_at_termination: tuple[tuple[date, date, int], ...] = ()
    recurring_at_termination: tuple[tuple[date, date], ...] = ()

    # -- grid ---------------------------------------------------------------------------
    def original_grid(self) -> list[Span]:
        """Spans of the whole term, as if never terminated (what advance runs bill)."""
        return grid(self.start, self.end, self.period, self.bill_cycle_day)

    def service_end(self) -> date:
        """Last day of service: the contract end, or T - 1 (section 5)."""
        if self.termination is None:
            return self.end
        return min(self.end, self.termination.first_day_without_service - ONE_DAY)

    def service_grid(self) -> list[Span]:
        """Spans that bill: the grid cut at the last day of service."""
        return grid(self.start, self.service_end(), self.period, self.bill_cycle_day)

    def span_at(self, day: date, spans: Sequence[Span] | None = None) -> Span | None:
        for span in self.original_grid() if spans is None else spans:
            if span.start <= day < span.end_exclusive:
                return span
        return None

    # -- quantities ---------------------------------------------------------------------
    def change_in_force(self, day: date) -> Change | None:
        """The latest change effective on or before `day`, the later received on a tie."""
        best: Change | None = None
        for change in self.changes:
            if change.effective <= day and (
                best is None
                or (change.effective, change.sequence) > (best.effective, best.sequence)
            ):
                best = change
        return best

    def terminated_on(self, day: date) -> bool:
        return self.termination is not None and day >= self.termination.first_day_without_service

    def quantity_in_force(self, day: date) -> int:
        """Units in service on `day` (0 outside [start, end] and from T on)."""
        if day < self.start or day > self.end or self.terminated_on(day):
            return 0
        change = self.change_in_force(day)
        return 0 if change is None else change.quantity

    def governing_orders(self, day: date) -> tuple[frozenset[str], date | None]:
        """The orders whose items set what `day` bills, and the earliest effective date
        among them (section 6: their controls govern it; section 4: it bills on the
        first run on or after that date). From T on, the termination alone.

        Section 6 holds "items of an order"; it does not say whose item a day is when a
        later order restates the same quantity. So every order with a change in force
        during the stretch of days of unchanged quantity ending on `day` counts: the
        day may bill when one of them is neither held nor overridden past the run.
        """
        if self.termination is not None and self.terminated_on(day):
            return frozenset(
                {self.termination.order_id}
            ), self.termination.first_day_without_service
        quantity = self.quantity_in_force(day)
        run_start = self.start
        for effective in sorted({c.effective for c in self.changes}, reverse=True):
            if (
                self.start < effective <= day
                and self.quantity_in_force(effective - ONE_DAY) != quantity
            ):
                run_start = effective
                break
        first = self.change_in_force(run_start)
        if first is None:
            return frozenset(), None
        orders = {first.order_id}
        orders |= {c.order_id for c in self.changes if run_start < c.effective <= day}
        return frozenset(orders), first.effective

    def orders_behind(self, day: date) -> frozenset[str]:
        """Every order whose items shaped what `day` bills: each with a change effective
        on or before it, and the termination from T on (section 6)."""
        orders = {c.order_id for c in self.changes if c.effective <= day}
        if self.termination is not None and self.terminated_on(day):
            orders.add(self.termination.order_id)
        return frozenset(orders)

    def acceptable_net(self, day: date) -> frozenset[int]:
        """Net quantity the rules accept billed for `day` once everything due is billed."""
        if self.termination is None or not self.terminated_on(day):
            return frozenset({self.quantity_in_force(day)})
        if self.termination.credit_unused:
            return frozenset({0})  # W13: unused billed days credited
        if not covers(self.recurring_at_termination, day, day + ONE_DAY):
            return frozenset({0})  # never billed, and nothing bills past end_date
        first_day = self.termination.first_day_without_service
        last_day_of_service = self.quantity_in_force(first_day - ONE_DAY)
        change = self.change_in_force(day)
        if change is not None and change.effective < first_day:
            return frozenset({last_day_of_service})
        billed = sum(q for s, e, q in self.billed_at_termination if s <= day < e)
        return frozenset({billed, last_day_of_service})

    def breakpoints(self) -> set[date]:
        """Days where anything this model returns may change value."""
        points = {self.start, self.end + ONE_DAY}
        points |= {c.effective for c in self.changes}
        if self.termination is not None:
            points.add(self.termination.first_day_without_service)
        for s, e, _ in self.billed_at_termination:
            points |= {s, e}
        for span in self.original_grid():
            points |= {span.start, span.end_exclusive}
        return points


def segments(points: Iterable[date], start: date, end_exclusive: date) -> list[tuple[date, date]]:
    """[start, end_exclusive) cut at every point strictly inside it."""
    cuts = sorted({start, end_exclusive, *(p for p in points if start < p < end_exclusive)})
    return list(itertools.pairwise(cuts))


def merged(intervals: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    """Union of half-open intervals, sorted and merged."""
    result: list[tuple[date, date]] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(end, result[-1][1]))
        else:
            result.append((start, end))
    return result


def covers(intervals: Sequence[tuple[date, date]], start: date, end_exclusive: date) -> bool:
    """True when the merged `intervals` hold every day of [start, end_exclusive)."""
    return any(s <= start and end_exclusive <= e for s, e in merged(intervals))
