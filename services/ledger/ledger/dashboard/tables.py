"""The page's metrics tables as CSV rows: the figures the page shows, in minor units
(as every ledger CSV: integers beside their currency, percentages as decimal text,
an empty cell for a rate without a base)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ledger.dashboard.view import MetricsView
from ledger.metrics.movements import MovementKind
from ledger.metrics.rate import Rate

Row = Sequence[object]

MRR_HEADER = ("currency", "month", "on", "mrr", "arr")
MOVEMENTS_HEADER = (
    "currency", "month", "mrr_before", *(k.value for k in MovementKind), "net_change",
    "mrr_after",
)  # fmt: skip
CHURN_HEADER = (
    "currency", "month", "logos_lost", "logos_before", "logo_churn_percent",
    "gross_mrr_lost", "net_mrr_lost", "mrr_before", "gross_mrr_churn_percent",
    "net_mrr_churn_percent",
)  # fmt: skip
RETENTION_HEADER = (
    "currency", "cohort_month", "month", "account_id", "mrr_start", "mrr_end",
    "nrr_percent", "grr_percent",
)  # fmt: skip


def _percent(rate: Rate) -> str:
    return "" if rate.percent is None else str(rate.percent)


def mrr_rows(view: MetricsView) -> Iterator[Row]:
    """A row per month of the chart: MRR at its end (the last on `as_of`) and ARR."""
    for point in view.series:
        yield (view.currency, str(point.month), point.on.isoformat(), point.mrr, 12 * point.mrr)


def movement_rows(view: MetricsView) -> Iterator[Row]:
    """A row per month: MRR at the ends of the previous month and this one, and between
    them each movement, net_change = mrr_after - mrr_before."""
    for m in view.movements:
        yield (view.currency, str(m.month), m.mrr_before,
               *(getattr(m, k.value) for k in MovementKind), m.net_change, m.mrr_after)  # fmt: skip


def churn_rows(view: MetricsView) -> Iterator[Row]:
    """A row per month: logo, gross MRR and net MRR churn with their numerators and bases."""
    for c in view.churn:
        yield (view.currency, str(c.month), c.logo.numerator, c.logo.denominator,
               _percent(c.logo), c.gross_mrr.numerator, c.net_mrr.numerator,
               c.gross_mrr.denominator, _percent(c.gross_mrr), _percent(c.net_mrr))  # fmt: skip


def retention_rows(view: MetricsView) -> Iterator[Row]:
    """A row per account of the cohort, NRR and GRR of the whole cohort on each."""
    r = view.retention
    for account in r.cohort:
        yield (view.currency, str(r.month.plus(-r.months)), str(r.month), account.account_id,
               account.mrr_start, account.mrr_end, _percent(r.nrr), _percent(r.grr))  # fmt: skip
