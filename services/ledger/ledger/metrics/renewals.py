"""Renewal rate of a period by count and by value (METRICS.md), with the contracts behind it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from revline_pricing import ONE_DAY

from ledger.metrics.calendar import Period
from ledger.metrics.history import History, Snapshot, Term
from ledger.metrics.rate import Rate


@dataclass(frozen=True)
class RenewalDue:
    """A contract term that ended in the period while in force, and what renewed it.

    `arr` is the contract's ARR on its end date; `renewed_by` the contract whose
    term starts the next day (the same id for a renewal in place), None when not
    renewed; `renewed_arr` that contract's ARR on the new term's first day.
    """

    contract_id: str
    account_id: str
    end_date: date
    arr: int
    renewed_by: str | None
    renewed_arr: int


@dataclass(frozen=True)
class RenewalRate:
    """Renewal rate of one currency over a period: |R| / |U| and R's ARR / U's ARR."""

    period: Period
    currency: str
    by_count: Rate
    by_value: Rate
    due: tuple[RenewalDue, ...]


def _contract_arr(snapshot: Snapshot, currency: str, contract_id: str, day: date) -> int:
    lines = snapshot.lines_in(currency)
    return 12 * sum(line.mrr_on(day) for line in lines if line.contract_id == contract_id)


def _renewal_of(term: Term, terms: tuple[Term, ...]) -> Term | None:
    """The term starting the day after `term` ends, of the same contract or linked to it."""
    next_day = term.end_date + ONE_DAY
    for other in terms:
        same = other.contract_id == term.contract_id or other.renews == term.contract_id
        if same and other.start_date == next_day:
            return other
    return None


def renewals(history: History, currency: str, period: Period, known_at: datetime) -> RenewalRate:
    """Renewal rate of the terms ending in `period` (dates inclusive), as known at `known_at`.

    U = terms whose end_date falls in the period and still in force on it (a
    termination before is churn, not a non-renewal); R = those followed by a term
    starting end_date + 1. By value, R's ARR on the new term's first day over U's
    ARR on their end date (may exceed 100%).
    """
    snapshot = history.as_known_at(known_at)
    terms = tuple(t for t in snapshot.terms if t.currency == currency)
    due = []
    for term in sorted(terms, key=lambda t: (t.end_date, t.contract_id)):
        if not (period.contains(term.end_date) and term.active_on_end):
            continue
        renewal = _renewal_of(term, terms)
        due.append(
            RenewalDue(
                term.contract_id,
                term.account_id,
                term.end_date,
                _contract_arr(snapshot, currency, term.contract_id, term.end_date),
                renewal.contract_id if renewal else None,
                _contract_arr(snapshot, currency, renewal.contract_id, renewal.start_date)
                if renewal
                else 0,
            )
        )
    renewed = [d for d in due if d.renewed_by is not None]
    return RenewalRate(
        period,
        currency,
        Rate(len(renewed), len(due)),
        Rate(sum(d.renewed_arr for d in renewed), sum(d.arr for d in due)),
        tuple(due),
    )
