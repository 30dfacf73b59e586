"""Win rate per quote kind, bookings, average deal size, sales cycle and pipeline velocity."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from revline_pricing import round_half_up

from ledger.metrics.calendar import Period
from ledger.metrics.history import QUOTE_KINDS, History, Quote, QuoteKind, Snapshot
from ledger.metrics.rate import Rate

VELOCITY_WINDOW_DAYS = 90


@dataclass(frozen=True)
class Booking:
    """An accepted quote, dated by acceptance: ACV, TCV and its sales cycle in days."""

    quote_id: str
    account_id: str
    kind: QuoteKind
    accepted_on: date
    acv: int
    tcv: int
    cycle_days: int


@dataclass(frozen=True)
class PipelineVelocity:
    """Open `new` quotes on the day x win rate x average ACV / mean cycle days.

    The last three over the trailing window (90 days ending on the day). `per_day`
    is in minor units per day, rounded half-up; None when the window has no
    accepted `new` quote or their mean cycle is 0 days.
    """

    on: date
    open_quotes: int
    win_rate: Rate
    average_acv: int | None
    mean_cycle_days: Decimal | None
    per_day: int | None


@dataclass(frozen=True)
class SalesFigures:
    """Sales figures of one currency over a period (dates inclusive).

    `win_rates` per quote kind: accepted / (accepted + rejected) of the quotes
    decided in the period; open quotes are neither. `bookings` every quote
    accepted in it. Deal size and cycle are over the `new` bookings: ACV and TCV
    means rounded half-up, cycle mean to 2 decimals and median (None without any).
    """

    period: Period
    currency: str
    win_rates: Mapping[QuoteKind, Rate]
    bookings: tuple[Booking, ...]
    average_acv: int | None
    average_tcv: int | None
    cycle_mean_days: Decimal | None
    cycle_median_days: Decimal | None
    velocity: PipelineVelocity


def _mean(values: list[int]) -> int | None:
    return round_half_up(Decimal(sum(values)) / Decimal(len(values))) if values else None


def _mean_days(values: list[int]) -> Decimal | None:
    if not values:
        return None
    return Decimal(round_half_up(Decimal(100 * sum(values)) / Decimal(len(values)))).scaleb(-2)


def _median_days(values: list[int]) -> Decimal | None:
    """The middle value, or the mean of the two middle ones (exact: a whole or a half day)."""
    if not values:
        return None
    ordered, middle = sorted(values), len(values) // 2
    if len(values) % 2:
        return Decimal(ordered[middle])
    return Decimal(ordered[middle - 1] + ordered[middle]) / 2


def _booking(quote: Quote) -> Booking:
    assert quote.accepted_on is not None  # only accepted quotes are bookings
    return Booking(
        quote.quote_id,
        quote.account_id,
        quote.kind,
        quote.accepted_on,
        quote.acv,
        quote.total_contract_value,
        (quote.accepted_on - quote.created_on).days,
    )


def _bookings(quotes: tuple[Quote, ...], period: Period) -> tuple[Booking, ...]:
    accepted = [q for q in quotes if q.accepted_on is not None and period.contains(q.accepted_on)]
    return tuple(_booking(q) for q in sorted(accepted, key=lambda q: (q.accepted_on, q.quote_id)))


def _win_rate(quotes: tuple[Quote, ...], period: Period, kind: QuoteKind) -> Rate:
    of_kind = [q for q in quotes if q.kind == kind]
    won = sum(1 for q in of_kind if q.accepted_on and period.contains(q.accepted_on))
    lost = sum(1 for q in of_kind if q.rejected_on and period.contains(q.rejected_on))
    return Rate(won, won + lost)


def velocity_of(snapshot: Snapshot, currency: str, on: date) -> PipelineVelocity:
    """Pipeline velocity on `on` from a snapshot (see PipelineVelocity)."""
    quotes = tuple(q for q in snapshot.quotes if q.currency == currency)
    window = Period(on - timedelta(days=VELOCITY_WINDOW_DAYS - 1), on)
    new = [b for b in _bookings(quotes, window) if b.kind == "new"]
    open_quotes = sum(1 for q in quotes if q.kind == "new" and q.open_on(on))
    win = _win_rate(quotes, window, "new")
    cycle_days = sum(b.cycle_days for b in new)
    per_day = None
    if new and cycle_days:
        # open x (won / decided) x (sum ACV / n) / (sum cycle / n): n cancels.
        exact = Decimal(open_quotes * win.numerator * sum(b.acv for b in new)) / Decimal(
            win.denominator * cycle_days
        )
        per_day = round_half_up(exact)
    return PipelineVelocity(
        on,
        open_quotes,
        win,
        _mean([b.acv for b in new]),
        _mean_days([b.cycle_days for b in new]),
        per_day,
    )


def sales(history: History, currency: str, period: Period, known_at: datetime) -> SalesFigures:
    """The sales figures of `currency` over `period`, as known at `known_at`.

    Pipeline velocity is taken on the period's last day.
    """
    return sales_of(history.as_known_at(known_at), currency, period)


def sales_of(snapshot: Snapshot, currency: str, period: Period) -> SalesFigures:
    """The sales figures of `currency` over `period` from a snapshot (see sales)."""
    quotes = tuple(q for q in snapshot.quotes if q.currency == currency)
    bookings = _bookings(quotes, period)
    new = [b for b in bookings if b.kind == "new"]
    cycles = [b.cycle_days for b in new]
    return SalesFigures(
        period,
        currency,
        {kind: _win_rate(quotes, period, kind) for kind in QUOTE_KINDS},
        bookings,
        _mean([b.acv for b in new]),
        _mean([b.tcv for b in new]),
        _mean_days(cycles),
        _median_days(cycles),
        velocity_of(snapshot, currency, period.last),
    )
