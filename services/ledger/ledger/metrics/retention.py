"""NRR and GRR over k months, cohort-based (METRICS.md): two snapshots, GRR never above 100%."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from ledger.metrics.calendar import Month
from ledger.metrics.errors import InvalidMetricQuery
from ledger.metrics.history import History, Snapshot
from ledger.metrics.month_ends import carried_over, day_mrr, kept, replaced
from ledger.metrics.rate import Rate


@dataclass(frozen=True)
class CohortAccount:
    """An account of the cohort: its MRR at the end of M-k and at the end of M."""

    account_id: str
    mrr_start: int
    mrr_end: int


@dataclass(frozen=True)
class Retention:
    """NRR and GRR of the cohort of `month` - `months`, in one currency.

    C = accounts with MRR > 0 at the end of M-k. NRR = sum of their MRR(end M) /
    sum of their MRR(end M-k); GRR = sum of min(MRR(end M), MRR(end M-k)) / the same.
    """

    month: Month
    months: int
    currency: str
    nrr: Rate
    grr: Rate
    cohort: tuple[CohortAccount, ...]


def retention_of(snapshot: Snapshot, currency: str, month: Month, months: int = 12) -> Retention:
    """NRR and GRR from a snapshot (see retention). Raises InvalidMetricQuery when months < 1."""
    if months < 1:
        raise InvalidMetricQuery("months", f"must be at least 1, not {months}")
    return kept(
        snapshot,
        ("retention", currency, month, months),
        lambda: _retention(snapshot, currency, month, months),
    )


def _retention(snapshot: Snapshot, currency: str, month: Month, months: int) -> Retention:
    # Both month ends in one pass over the lines.
    before, after = day_mrr(snapshot, currency, [month.plus(-months).last_day, month.last_day])
    carried = carried_over(snapshot, currency, ("retention", currency, month, months))
    if carried is None:
        start, end = before.customers(), after.customers()
        cohort = tuple(
            CohortAccount(account, amount, end.get(account, 0))
            for account, amount in sorted(start.items())
        )
    else:
        # The cohort as the snapshot before had it: only the changed accounts anew.
        touched, earlier = carried

        def member(account: str) -> CohortAccount | None:
            amount = before.totals.get(account, 0)
            ends = max(after.totals.get(account, 0), 0)
            return CohortAccount(account, amount, ends) if amount > 0 else None

        cohort = replaced(cast(Retention, earlier).cohort, touched, member)
    base = sum(a.mrr_start for a in cohort)
    return Retention(
        month,
        months,
        currency,
        Rate(sum(a.mrr_end for a in cohort), base),
        Rate(sum(min(a.mrr_end, a.mrr_start) for a in cohort), base),
        cohort,
    )


def retention(
    history: History, currency: str, month: Month, known_at: datetime, months: int = 12
) -> Retention:
    """NRR and GRR from the end of `month` - `months` to the end of `month`, as known then.

    Raises InvalidMetricQuery when months < 1.
    """
    return retention_of(history.as_known_at(known_at), currency, month, months)
