"""Logo, gross MRR and net MRR churn rates of a month (METRICS.md), from its movements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.metrics.calendar import Month
from ledger.metrics.history import History, Snapshot
from ledger.metrics.movements import AccountMovement, MonthMovements, MovementKind, movements_of
from ledger.metrics.rate import Rate


@dataclass(frozen=True)
class MonthChurn:
    """The churn rates of one month in one currency.

    logo = accounts with m0 > 0 = m1 / accounts with m0 > 0;
    gross_mrr = (churn + contraction) / MRR(end M-1);
    net_mrr = (churn + contraction - expansion - reactivation) / MRR(end M-1), may be < 0.
    `accounts` are the churned and contracted accounts behind them.
    """

    month: Month
    currency: str
    logo: Rate
    gross_mrr: Rate
    net_mrr: Rate
    accounts: tuple[AccountMovement, ...]


def churn_of_month(moves: MonthMovements) -> MonthChurn:
    """The churn rates that a month's movements give."""
    lost = moves.churn + moves.contraction
    return MonthChurn(
        moves.month,
        moves.currency,
        Rate(len(moves.of(MovementKind.CHURN)), moves.customers_before),
        Rate(lost, moves.mrr_before),
        Rate(lost - moves.expansion - moves.reactivation, moves.mrr_before),
        tuple(
            m for m in moves.accounts if m.kind in (MovementKind.CHURN, MovementKind.CONTRACTION)
        ),
    )


def churn_of(
    snapshot: Snapshot, currency: str, first: Month, last: Month
) -> tuple[MonthChurn, ...]:
    """The churn rates of each month `first`..`last` from a snapshot (see churn)."""
    return tuple(churn_of_month(m) for m in movements_of(snapshot, currency, first, last))


def churn(
    history: History, currency: str, first: Month, last: Month, known_at: datetime
) -> tuple[MonthChurn, ...]:
    """Logo, gross and net MRR churn of each month `first`..`last`, as known at `known_at`.

    Raises InvalidMetricQuery when last < first.
    """
    return churn_of(history.as_known_at(known_at), currency, first, last)
