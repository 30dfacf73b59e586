"""Properties of the metrics over random contract histories (METRICS.md).

Hypothesis draws, for three accounts in two currencies, contracts one after the
other: lines at random periods and prices (0 included), upgrades, downgrades and
removals by quantity, subscriptions added mid-term, terminations, expiries,
renewals at other prices, and later contracts that reactivate the account. Each
fact is recorded some days before or after its business date.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from ledger.metrics.calendar import Month, Period, months_between
from ledger.metrics.history import (
    BillingPeriod,
    ContractEnded,
    Fact,
    History,
    LineStarted,
    QuantityChanged,
    Snapshot,
    TermStarted,
)
from ledger.metrics.movements import MovementKind, movements
from ledger.metrics.mrr import mrr_figures
from ledger.metrics.renewals import renewals
from ledger.metrics.retention import retention
from revline_pricing import ONE_DAY, term_end

BASE = date(2025, 1, 1)
FIRST, LAST = Month(2025, 1), Month(2026, 9)
ACCOUNTS = ("a", "b", "c")
CURRENCIES = ("EUR", "JPY")
PERIODS: tuple[BillingPeriod, ...] = ("month", "quarter", "half_year", "year")
LATER = datetime(2030, 1, 1, tzinfo=UTC)
BOUNDED = settings(max_examples=40, deadline=None)


@dataclass(frozen=True)
class LineSpec:
    period: BillingPeriod
    unit_price: int
    quantity: int
    starts_after: int  # days into the term: > 0 is a subscription added by an amendment
    changes: tuple[tuple[int, int], ...]  # (days into the term, new quantity)


@dataclass(frozen=True)
class ContractSpec:
    account: str
    currency: str
    gap: int  # days after the account's previous contract ended (or BASE)
    term_months: int
    lines: tuple[LineSpec, ...]
    terminate_after: int | None  # days into the term of the last day of service
    renewal: tuple[int, tuple[LineSpec, ...]] | None  # term months, the new term's lines
    lag: int  # days between a fact's business date and its recording


line_specs = st.builds(
    LineSpec,
    st.sampled_from(PERIODS),
    st.sampled_from((0, 999, 1000, 25000, 90000, 1200000)) | st.integers(0, 200000),
    st.integers(1, 20),
    st.sampled_from((0, 0, 0, 10, 45)),
    st.lists(st.tuples(st.integers(1, 200), st.integers(0, 25)), max_size=3).map(tuple),
)
contract_specs = st.builds(
    ContractSpec,
    st.sampled_from(ACCOUNTS),
    st.sampled_from(CURRENCIES),
    st.integers(0, 120),
    st.integers(1, 12),
    st.lists(line_specs, min_size=1, max_size=3).map(tuple),
    st.none() | st.integers(0, 200),
    st.none()
    | st.tuples(st.integers(1, 6), st.lists(line_specs, min_size=1, max_size=2).map(tuple)),
    st.integers(-20, 60),
)


def recorded(day: date, lag: int) -> datetime:
    return datetime.combine(day + timedelta(days=lag), time(12), tzinfo=UTC)


def term_facts(
    spec: ContractSpec, contract_id: str, start: date, end: date, lines: tuple[LineSpec, ...]
) -> Iterator[Fact]:
    yield TermStarted(
        recorded(start, spec.lag), contract_id, spec.account, spec.currency, start, end
    )
    for i, ls in enumerate(lines):
        line_start = min(start + timedelta(days=ls.starts_after), end)
        line_id = f"{contract_id}@{start}#{i}"
        yield LineStarted(
            recorded(line_start, spec.lag),
            line_id,
            spec.account,
            spec.currency,
            contract_id,
            ls.period,
            ls.unit_price,
            ls.quantity,
            line_start,
            end,
        )
        for after, quantity in ls.changes:
            on = start + timedelta(days=after)
            if line_start < on <= end:
                yield QuantityChanged(recorded(on, spec.lag), line_id, on, quantity)


def history_of(specs: list[ContractSpec]) -> History:
    facts: list[Fact] = []
    free_from: dict[str, date] = {}  # per account: the day after its last contract ended
    for n, spec in enumerate(specs):
        contract_id = f"k{n}"
        start = free_from.get(spec.account, BASE) + timedelta(days=spec.gap)
        end = term_end(start, spec.term_months)
        facts.extend(term_facts(spec, contract_id, start, end, spec.lines))
        last = end
        if spec.renewal is not None:
            months, lines = spec.renewal
            last = term_end(end + ONE_DAY, months)
            facts.extend(term_facts(spec, contract_id, end + ONE_DAY, last, lines))
        if spec.terminate_after is not None:
            stop = min(start + timedelta(days=spec.terminate_after), last)
            facts.append(ContractEnded(recorded(stop + ONE_DAY, spec.lag), contract_id, stop))
            last = stop
        free_from[spec.account] = last + ONE_DAY
    return History(tuple(facts))


histories = st.lists(contract_specs, min_size=1, max_size=7).map(history_of)


def month_end_by_account(snapshot: Snapshot, currency: str, month: Month) -> dict[str, int]:
    """The customers' MRR at the month end, read through mrr_figures (the MRR(D) figure)."""
    return {a.account_id: a.mrr for a in mrr_figures(snapshot, currency, month.last_day).accounts}


@BOUNDED
@given(histories)
def test_every_month_the_movements_add_up_to_the_change_in_mrr(history: History) -> None:
    snapshot = history.as_known_at(LATER)
    for currency in CURRENCIES:
        ends = {
            m: month_end_by_account(snapshot, currency, m)
            for m in months_between(FIRST.plus(-1), LAST)
        }
        for moves in movements(history, currency, FIRST, LAST, LATER):
            before, after = ends[moves.month.plus(-1)], ends[moves.month]
            assert (moves.mrr_before, moves.mrr_after) == (
                sum(before.values()),
                sum(after.values()),
            )
            assert moves.mrr_after - moves.mrr_before == moves.net_change
            earlier = {a for m, e in ends.items() if m < moves.month.plus(-1) for a in e}
            for move in moves.accounts:
                assert (move.mrr_before, move.mrr_after) == (
                    before.get(move.account_id, 0),
                    after.get(move.account_id, 0),
                )
                moved = sum(c.mrr_after - c.mrr_before for c in move.contracts)
                assert moved == move.mrr_after - move.mrr_before
                if move.kind is MovementKind.NEW:
                    assert move.account_id not in earlier
                if move.kind is MovementKind.REACTIVATION:
                    assert move.account_id in earlier


@BOUNDED
@given(histories, st.integers(0, 19))
def test_a_range_starting_later_gives_the_same_months(history: History, skip: int) -> None:
    # new or reactivation depends on month ends before the range: the range must not matter.
    first = FIRST.plus(skip)
    for currency in CURRENCIES:
        whole = movements(history, currency, FIRST, LAST, LATER)
        assert movements(history, currency, first, LAST, LATER) == whole[skip:]


@BOUNDED
@given(histories, st.integers(1, 12), st.integers(0, 8))
def test_nrr_and_grr_equal_their_cohort_definitions_and_grr_is_at_most_100(
    history: History, months: int, offset: int
) -> None:
    month = Month(2025, 9).plus(offset)
    snapshot = history.as_known_at(LATER)
    for currency in CURRENCIES:
        start = month_end_by_account(snapshot, currency, month.plus(-months))
        end = month_end_by_account(snapshot, currency, month)
        figures = retention(history, currency, month, LATER, months=months)
        base = sum(start.values())
        assert figures.nrr.denominator == figures.grr.denominator == base
        assert figures.nrr.numerator == sum(end.get(a, 0) for a in start)
        assert figures.grr.numerator == sum(min(end.get(a, 0), m) for a, m in start.items())
        assert figures.grr.numerator <= figures.grr.denominator
        if base:
            percent = figures.grr.percent
            assert percent is not None and percent <= 100


@BOUNDED
@given(histories, st.integers(0, 640), st.integers(0, 23))
def test_figures_as_known_at_t_ignore_facts_recorded_after_t(
    history: History, days: int, hour: int
) -> None:
    t = datetime.combine(BASE + timedelta(days=days), time(hour), tzinfo=UTC)
    # What was known at t, filtered here by hand, then read as known today.
    then = History(tuple(f for f in history.facts if f.recorded_at <= t))
    for currency in CURRENCIES:
        assert movements(history, currency, FIRST, LAST, t) == movements(
            then, currency, FIRST, LAST, LATER
        )
        assert retention(history, currency, Month(2026, 3), t) == retention(
            then, currency, Month(2026, 3), LATER
        )
        year = Period(date(2025, 1, 1), date(2026, 12, 31))
        assert renewals(history, currency, year, t) == renewals(then, currency, year, LATER)
