"""What a subscription still has to bill, and when (BILLING_RULES.md 2 to 6).

`plan` compares the subscription's schedule with what was billed already and
returns every charge not billed yet, each with the first `as_of` that bills it:

- Recurring: each span of each term's period grid (stubs included, the last
  span ending on the term's end or the day before a termination) bills the
  days nobody billed yet, at the quantities in force, split where the quantity
  changes (W11). Advance spans are due on their first day, arrears spans the
  day after their last (W8).
- Adjustments: inside a span already billed, wherever the quantity in force
  differs from the quantity billed, a step of +d units from day t gives a
  `proration` line for [t, end of the billed span) and -d a `credit` line, with
  the span's nominal period as denominator (W9, W10, W13). Computing the steps
  from what was billed, rather than replaying amendments, is what makes a rerun,
  an overlap or a future-dated change bill nothing twice. After a termination
  without `credit_unused` the quantity of the last day of service stays owed
  (W14); after one with it, nothing (changes dated later are moot). A step is
  due on the effective date of the change in force on its first day. Days a
  voided line covers are forgiven: a later change adjusts nothing there.
- One-time: the whole quantity once, on the first run on or after its start.

Every charge names the order whose change set the quantity in force on its
first day (its provenance), and is governed by the controls (hold, override) of
every order behind its days: each order with a change in the term from its
start to the charge's last day (a line is cut only where the quantity changes,
so an amendment restating the quantity still governs the days after it). A
hold on the new order therefore still holds the periods after an amendment,
and a hold on the amendment holds them too (BILLING_RULES.md 6: "items of an
order on hold ... are not billed").
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date

from revline_pricing.calendar import ONE_DAY, DateSpan
from revline_pricing.periods import iter_billing_spans
from revline_pricing.proration import span_amount, span_formula

from billing.domain.schedule import (
    BilledCharge,
    Charge,
    LineKind,
    OrderControl,
    QuantityChange,
    Subscription,
)

NO_CONTROL = OrderControl()


class _Timeline:
    """The quantity in force on each day, and the change that set it."""

    def __init__(self, subscription: Subscription) -> None:
        self._changes = subscription.ordered_changes()
        self._dates = [c.effective_date for c in self._changes]
        self._terms = subscription.terms
        self._term_starts = [date.min, *sorted(t.start for t in subscription.terms)]
        self._orders: dict[tuple[int, int], tuple[str, ...]] = {}
        self.termination = subscription.termination()

    def change_at(self, day: date) -> QuantityChange | None:
        """The change in force on `day`: the latest effective on or before it (the last
        received of a date); from a termination on, the termination, whatever was
        dated after it (nothing bills past the end date)."""
        if self.termination is not None and day >= self.termination.effective_date:
            return self.termination
        index = bisect.bisect_right(self._dates, day) - 1
        return self._changes[index] if index >= 0 else None

    def quantity_at(self, day: date) -> int:
        """Units in force on `day`: 0 outside every term and before the first change."""
        if not any(term.start <= day <= term.end for term in self._terms):
            return 0
        change = self.change_at(day)
        return change.quantity if change is not None else 0

    def orders_behind(self, day: date) -> tuple[str, ...]:
        """Every order with a change from the start of the term holding `day` up to `day`
        (all changes up to `day` when no term holds it), and the termination's order
        from its effective date on, sorted."""
        since = self._term_starts[bisect.bisect_right(self._term_starts, day) - 1]
        key = (bisect.bisect_left(self._dates, since), bisect.bisect_right(self._dates, day))
        found = self._orders.get(key)
        if found is None:
            found = tuple(sorted({c.order_id for c in self._changes[key[0] : key[1]]}))
            self._orders[key] = found
        termination = self.termination
        if termination is not None and day >= termination.effective_date:
            # From T on the termination governs the day, even when T falls before the
            # term that holds it (a subscription ended before it began).
            found = tuple(sorted({*found, termination.order_id}))
        return found

    def dates_within(self, start: date, end_exclusive: date) -> list[date]:
        """Effective dates of changes strictly inside (start, end_exclusive)."""
        return sorted({d for d in self._dates if start < d < end_exclusive})


def plan(subscription: Subscription, billed: Sequence[BilledCharge]) -> list[Charge]:
    """Every charge of `subscription` not billed yet, whenever it falls due.

    `billed` is every line billed for it so far (voided invoices' lines included:
    their spans are not billed again). Pure and deterministic.
    """
    timeline = _Timeline(subscription)
    if subscription.charge_type == "one_time":
        return _one_time(subscription, timeline, billed)
    return [
        *_recurring(subscription, timeline, billed),
        *_adjustments(subscription, timeline, billed),
    ]


def plan_due(
    subscription: Subscription,
    billed: Sequence[BilledCharge],
    as_of: date,
    controls: Mapping[str, OrderControl],
) -> list[Charge]:
    """`due(plan(subscription, billed), as_of, controls)`, planning no span due after
    `as_of` (a run need not price the rest of the term)."""
    timeline = _Timeline(subscription)
    if subscription.charge_type == "one_time":
        return due(_one_time(subscription, timeline, billed), as_of, controls)
    recurring = itertools.takewhile(
        lambda c: c.due_date <= as_of, _recurring(subscription, timeline, billed)
    )
    return due([*recurring, *_adjustments(subscription, timeline, billed)], as_of, controls)


def plan_next_bill_date(
    subscription: Subscription,
    billed: Sequence[BilledCharge],
    controls: Mapping[str, OrderControl],
) -> date | None:
    """`next_bill_date(plan(subscription, billed), controls)`, planning recurring spans
    only until none can bill earlier than the best date found."""
    timeline = _Timeline(subscription)
    if subscription.charge_type == "one_time":
        return next_bill_date(_one_time(subscription, timeline, billed), controls)
    best = next_bill_date(_adjustments(subscription, timeline, billed), controls)
    for charge in _recurring(subscription, timeline, billed):
        # Due dates never decrease and an override only delays: no later charge wins.
        if best is not None and charge.due_date >= best:
            break
        found = next_bill_date([charge], controls)
        if found is not None and (best is None or found < best):
            best = found
    return best


def due(
    charges: Iterable[Charge], as_of: date, controls: Mapping[str, OrderControl]
) -> list[Charge]:
    """The charges a run as of `as_of` bills: due by then, their order neither held
    nor overridden to a later date (BILLING_RULES.md 3, 6)."""
    return [
        c
        for c in charges
        if c.due_date <= as_of
        and all(controls.get(o, NO_CONTROL).allows(as_of) for o in c.governing_orders)
    ]


def next_bill_date(charges: Iterable[Charge], controls: Mapping[str, OrderControl]) -> date | None:
    """The first `as_of` on which a run would bill one of `charges`; None when none can
    bill (nothing left, or everything left is on hold)."""
    dates: list[date] = []
    for charge in charges:
        governing = [controls.get(o, NO_CONTROL) for o in charge.governing_orders]
        if any(control.held for control in governing):
            continue
        overrides = [c.next_billing_date for c in governing if c.next_billing_date is not None]
        dates.append(max([charge.due_date, *overrides]))
    return min(dates, default=None)


def _spans(subscription: Subscription, timeline: _Timeline) -> Iterator[tuple[DateSpan, DateSpan]]:
    """(span, nominal period) of every term in date order, each term cut the day before a
    termination. Terms never overlap (a renewal starts the day after the term it
    follows), so the spans come in date order and so do their due dates."""
    period = subscription.billing_period
    if period is None:
        return
    termination = timeline.termination
    for term in sorted(subscription.terms, key=lambda t: t.start):
        end = term.end
        if termination is not None:
            end = min(end, termination.effective_date - ONE_DAY)
        if end < term.start:
            continue
        for span in iter_billing_spans(term.start, end, period, subscription.bill_cycle_day):
            yield span.span, span.nominal


def _merged(intervals: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    merged: list[tuple[date, date]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _uncovered(start: date, end: date, covered: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """The parts of [start, end) outside the sorted, merged `covered` intervals."""
    parts: list[tuple[date, date]] = []
    cursor = start
    for c_start, c_end in covered:
        if c_end <= cursor:
            continue
        if c_start >= end:
            break
        if c_start > cursor:
            parts.append((cursor, c_start))
        cursor = max(cursor, c_end)
        if cursor >= end:
            break
    if cursor < end:
        parts.append((cursor, end))
    return parts


def _recurring(
    subscription: Subscription, timeline: _Timeline, billed: Sequence[BilledCharge]
) -> Iterator[Charge]:
    """The recurring charges not billed yet, computed as they are asked for, in the order
    of their spans: due dates never decrease."""
    covered = _merged((b.start, b.end_exclusive) for b in billed if b.kind == "recurring")
    advance = subscription.billing_timing == "advance"
    for span, nominal in _spans(subscription, timeline):
        due_date = span.start if advance else span.end_exclusive
        for gap_start, gap_end in _uncovered(span.start, span.end_exclusive, covered):
            # Cut only where the quantity changes: an upgrade undone the same day
            # leaves one line, not two rounded halves.
            inside = timeline.dates_within(gap_start, gap_end)
            cuts = [gap_start]
            cuts += [
                d for d in inside if timeline.quantity_at(d) != timeline.quantity_at(d - ONE_DAY)
            ]
            cuts.append(gap_end)
            for piece_start, piece_end in itertools.pairwise(cuts):
                change = timeline.change_at(piece_start)
                quantity = timeline.quantity_at(piece_start)
                if change is None or quantity <= 0:
                    continue
                yield _charge(
                    subscription,
                    "recurring",
                    span.start,
                    DateSpan(piece_start, piece_end),
                    nominal,
                    quantity,
                    due_date,
                    change,
                    timeline.orders_behind(piece_end - ONE_DAY),
                )


def _adjustments(
    subscription: Subscription, timeline: _Timeline, billed: Sequence[BilledCharge]
) -> list[Charge]:
    groups: dict[tuple[date, date, date], list[BilledCharge]] = {}
    for line in billed:
        key = (line.span_start, line.nominal_start, line.nominal_end_exclusive)
        groups.setdefault(key, []).append(line)
    termination = timeline.termination
    charges: list[Charge] = []
    for (span_start, nominal_start, nominal_end), lines in sorted(groups.items()):
        nominal = DateSpan(nominal_start, nominal_end)
        recurring = _merged((b.start, b.end_exclusive) for b in lines if b.kind == "recurring")
        forgiven = _merged((b.start, b.end_exclusive) for b in lines if b.void)
        pieces = [p for a, b in recurring for p in _uncovered(a, b, forgiven)]
        for start, end in pieces:

            def billed_at(day: date, lines: list[BilledCharge] = lines) -> int:
                return sum(b.signed_quantity for b in lines if b.start <= day < b.end_exclusive)

            def target_at(day: date) -> int:
                # Service given up without credit is owed as on the last day of
                # service (W14): the termination itself adds no line.
                if (
                    termination is not None
                    and day >= termination.effective_date
                    and not termination.credit_unused
                ):
                    return timeline.quantity_at(termination.effective_date - ONE_DAY)
                return timeline.quantity_at(day)

            points = {start, *timeline.dates_within(start, end)}
            points |= {b.start for b in lines if start < b.start < end}
            points |= {b.end_exclusive for b in lines if start < b.end_exclusive < end}
            if termination is not None and start < termination.effective_date < end:
                points.add(termination.effective_date)
            for term in subscription.terms:
                points |= {d for d in (term.start, term.end + ONE_DAY) if start < d < end}
            difference_before = 0
            for day in sorted(points):
                difference = target_at(day) - billed_at(day)
                step = difference - difference_before
                difference_before = difference
                if step == 0:
                    continue
                change = timeline.change_at(day)
                if change is None:  # billed before any change: cannot happen, never guess
                    raise ValueError(f"{subscription.subscription_id}: billed before its start")
                before = billed_at(day) + difference - step
                charges.append(
                    _charge(
                        subscription,
                        "proration" if step > 0 else "credit",
                        span_start,
                        DateSpan(day, end),
                        nominal,
                        step,
                        change.effective_date,
                        change,
                        timeline.orders_behind(end - ONE_DAY),
                        quantity_before=before,
                        quantity_after=before + step,
                    )
                )
    return charges


def _one_time(
    subscription: Subscription, timeline: _Timeline, billed: Sequence[BilledCharge]
) -> list[Charge]:
    if any(b.kind == "one_time" for b in billed) or not subscription.terms:
        return []
    start = min(term.start for term in subscription.terms)
    change = timeline.change_at(start)
    if change is None or change.quantity <= 0:
        return []
    day = DateSpan(start, start + ONE_DAY)
    return [
        Charge(
            kind="one_time",
            subscription=subscription,
            span_start=start,
            start=start,
            end_exclusive=day.end_exclusive,
            nominal_start=start,
            nominal_end_exclusive=day.end_exclusive,
            quantity=change.quantity,
            amount=subscription.unit_price * change.quantity,
            due_date=start,
            order_id=change.order_id,
            event_ids=(change.event_id,),
            governing_orders=timeline.orders_behind(start),
            formula=f"{subscription.unit_price} x {change.quantity} = "
            f"{subscription.unit_price * change.quantity}",
            days=1,
            nominal_days=1,
        )
    ]


def _charge(
    subscription: Subscription,
    kind: LineKind,
    span_start: date,
    period: DateSpan,
    nominal: DateSpan,
    signed_quantity: int,
    due_date: date,
    change: QuantityChange,
    governing_orders: tuple[str, ...],
    *,
    quantity_before: int | None = None,
    quantity_after: int | None = None,
) -> Charge:
    unit_price = subscription.unit_price
    amount = span_amount(unit_price, signed_quantity, period.days, nominal.days)
    quantity = abs(signed_quantity)
    return Charge(
        kind=kind,
        subscription=subscription,
        span_start=span_start,
        start=period.start,
        end_exclusive=period.end_exclusive,
        nominal_start=nominal.start,
        nominal_end_exclusive=nominal.end_exclusive,
        quantity=quantity,
        amount=amount,
        due_date=due_date,
        order_id=change.order_id,
        event_ids=(change.event_id,),
        governing_orders=governing_orders,
        quantity_before=quantity_before,
        quantity_after=quantity_after,
        formula=span_formula(unit_price, signed_quantity, period.days, nominal.days),
        days=period.days,
        nominal_days=nominal.days,
    )
