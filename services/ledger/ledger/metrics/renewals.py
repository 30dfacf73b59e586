"""Renewal rate of a period by count and by value (METRICS.md), with the contracts behind it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from revline_pricing import ONE_DAY

from ledger.metrics.calendar import Period
from ledger.metrics.history import History, Line, Snapshot, Term
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


def _contract_arr(lines: Mapping[str, list[Line]], contract_id: str, day: date) -> int:
    return 12 * sum(line.mrr_on(day) for line in lines.get(contract_id, ()))


def _successors(terms: tuple[Term, ...]) -> dict[tuple[str, date], Term]:
    """Each term under (contract it continues, its start): its own contract id and the one
    it `renews`; the first in `terms` order wins a key (one pass, not one per term due)."""
    found: dict[tuple[str, date], Term] = {}
    for other in terms:
        for continued in (other.contract_id, other.renews):
            if continued is not None:
                found.setdefault((continued, other.start_date), other)
    return found


def _renewal_of(term: Term, successors: Mapping[tuple[str, date], Term]) -> Term | None:
    """The term starting the day after `term` ends, of the same contract or linked to it."""
    return successors.get((term.contract_id, term.end_date + ONE_DAY))


def renewals(history: History, currency: str, period: Period, known_at: datetime) -> RenewalRate:
    """Renewal rate of the terms ending in `period`, as known at `known_at` (see renewals_of)."""
    return renewals_of(history.as_known_at(known_at), currency, period)


def renewals_of(snapshot: Snapshot, currency: str, period: Period) -> RenewalRate:
    """Renewal rate of the terms ending in `period` (dates inclusive), as known at `known_at`.

    U = terms whose end_date falls in the period and still in force on it (a
    termination before is churn, not a non-renewal); R = those followed by a term
    starting end_date + 1. By value, R's ARR on the new term's first day over U's
    ARR on their end date (may exceed 100%).
    """
    terms = tuple(t for t in snapshot.terms if t.currency == currency)
    # Lines by contract once (not a scan of every line per term due).
    lines: dict[str, list[Line]] = defaultdict(list)
    for line in snapshot.lines_in(currency):
        lines[line.contract_id].append(line)
    successors = _successors(terms)
    due = []
    for term in sorted(terms, key=lambda t: (t.end_date, t.contract_id)):
        if not (period.contains(term.end_date) and term.active_on_end):
            continue
        renewal = _renewal_of(term, successors)
        due.append(
            RenewalDue(
                term.contract_id,
                term.account_id,
                term.end_date,
                _contract_arr(lines, term.contract_id, term.end_date),
                renewal.contract_id if renewal else None,
                _contract_arr(lines, renewal.contract_id, renewal.start_date) if renewal else 0,
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
