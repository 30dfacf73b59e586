"""What the dashboard shows, as data: the RevOps figures of one currency from a metrics
History, and the finance reports' aggregates from the journal. Rendering is render.py's.

The page covers the 12 months ending with `as_of`'s month: each month's MRR at its
end (the last one on `as_of` itself, the headline figure), the movements and churn of
each month (month ends, as METRICS.md defines them), retention over those 12 months.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from ledger.domain.reports import AgingBucket, AgingRow, RevenueReport, TrialBalance
from ledger.metrics.calendar import Month
from ledger.metrics.churn import MonthChurn, churn_of_month
from ledger.metrics.history import Snapshot
from ledger.metrics.movements import MonthMovements, movements_of
from ledger.metrics.mrr import MrrFigures, mrr_figures
from ledger.metrics.retention import Retention, retention_of

MONTHS = 12
TOP_ACCOUNTS = 10  # aging rows on the page; the CSV has every account


@dataclass(frozen=True)
class MrrPoint:
    """MRR of a month of the chart: at its end, or on `as_of` for the last one."""

    month: Month
    on: date
    mrr: int


@dataclass(frozen=True)
class MetricsView:
    """The RevOps figures of one currency for the page, every amount in minor units."""

    currency: str
    as_of: date
    now: MrrFigures
    series: tuple[MrrPoint, ...]
    movements: tuple[MonthMovements, ...]
    churn: tuple[MonthChurn, ...]
    retention: Retention


def metrics_view(
    snapshot: Snapshot, currency: str, as_of: date, months: int = MONTHS
) -> MetricsView:
    """The figures of the `months` months ending with `as_of`'s month, from one snapshot
    (the History folded once, as known at the page's `known_at`)."""
    last = Month.of(as_of)
    first = last.plus(-(months - 1))
    moves = movements_of(snapshot, currency, first, last)
    now = mrr_figures(snapshot, currency, as_of)
    ends = [MrrPoint(m.month, m.month.last_day, m.mrr_after) for m in moves[:-1]]
    series = (*ends, MrrPoint(last, as_of, now.mrr))
    return MetricsView(
        currency,
        as_of,
        now,
        series,
        moves,
        tuple(churn_of_month(m) for m in moves),
        retention_of(snapshot, currency, last, months),
    )


@dataclass(frozen=True)
class Receivables:
    """The receivables sub-ledger of one currency as of the date (the tie-out's sums)."""

    open_amount_due: int
    unapplied_credit: int

    @property
    def net(self) -> int:
        """What customers owe net of the cash they left with us."""
        return self.open_amount_due - self.unapplied_credit


@dataclass(frozen=True)
class AgingView:
    """AR aging of one currency: the buckets' totals, and the accounts owing the most."""

    totals: dict[AgingBucket, int]
    customer_credit: int
    accounts: int  # accounts with an aging row (something due or credit)
    top: tuple[AgingRow, ...]  # the TOP_ACCOUNTS largest totals, largest first

    @property
    def total(self) -> int:
        """Every bucket added."""
        return sum(self.totals.values())


def aging_view(rows: list[AgingRow], currency: str, top: int = TOP_ACCOUNTS) -> AgingView:
    """The aging of `currency` from every account's row (one SQL aggregate per account)."""
    mine = [r for r in rows if r.currency == currency]
    totals = dict.fromkeys(AgingBucket, 0)
    for row in mine:
        for bucket, amount in row.buckets.items():
            totals[bucket] += amount
    largest = sorted(mine, key=lambda r: (-r.total, r.account_id))[:top]
    return AgingView(
        totals, sum(r.customer_credit for r in mine), len(mine), tuple(r for r in largest)
    )


@dataclass(frozen=True)
class FinanceView:
    """The ledger's reports of one currency as of the date."""

    currency: str
    as_of: date
    receivables: Receivables
    aging: AgingView
    trial_balance: TrialBalance | None
    revenue: RevenueReport | None


@dataclass(frozen=True)
class Dashboard:
    """Everything on the page: the chosen currency's figures and the currencies to switch to.

    `known_on`: the metrics as known at the end of that day (METRICS.md's "as known on
    31 March"); None for as known now. The ledger's reports are by entry date only.
    """

    as_of: date
    currency: str
    currencies: tuple[str, ...]
    metrics: MetricsView
    finance: FinanceView
    known_on: date | None = None

    @property
    def query(self) -> dict[str, str]:
        """The page's parameters, as its links and forms carry them."""
        asked = {"as_of": self.as_of.isoformat(), "currency": self.currency}
        return {**asked, "known_on": self.known_on.isoformat()} if self.known_on else asked


def end_of(day: date) -> datetime:
    """The last instant of `day` (UTC): "as known on" that day."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC) - timedelta(
        microseconds=1
    )
