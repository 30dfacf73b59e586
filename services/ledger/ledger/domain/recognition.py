"""Revenue recognition of a deferred line, daily with cumulative rounding (BILLING_RULES.md 7, W19).

Cumulative revenue through day d is round_half_up(amount x days elapsed /
total days); a month earns the cumulative at its last day in the period minus
the previous month's, so the months of a line always sum exactly to its amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from revline_pricing import add_months, round_half_up


def month_start(day: date) -> date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def month_end(day: date) -> date:
    """The last day of `day`'s month."""
    return add_months(month_start(day), 1) - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class MonthShare:
    """What a line earns in one service month (`month` is that month's first day)."""

    month: date
    amount: int


def monthly_shares(amount: int, period_start: date, period_end: date) -> tuple[MonthShare, ...]:
    """Split `amount` over the months of [period_start, period_end] (inclusive), by days.

    Every month the period touches gets a share, zero shares included, in order;
    the shares sum to `amount` exactly. Negative amounts split symmetrically.
    """
    total_days = (period_end - period_start).days + 1
    shares: list[MonthShare] = []
    earned = 0
    month = month_start(period_start)
    while month <= period_end:
        last = min(month_end(month), period_end)
        elapsed = (last - period_start).days + 1
        cumulative = round_half_up(Decimal(amount * elapsed) / Decimal(total_days))
        shares.append(MonthShare(month, cumulative - earned))
        earned = cumulative
        month = add_months(month, 1)
    return tuple(shares)


def recognition_date(month: date, document_date: date) -> date:
    """A month's recognition is dated its last day, or the document's date when later (catch-up)."""
    return max(month_end(month), document_date)
