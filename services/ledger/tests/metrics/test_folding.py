"""A fold kept open (Folding) and the figures kept with a Snapshot equal a fresh fold's and
the figures worked out line by line, over the random histories of test_properties.py."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st
from ledger.metrics.calendar import Month, months_between
from ledger.metrics.history import (
    ContractEnded,
    Fact,
    Folding,
    History,
    LineStarted,
    QuantityChanged,
    Snapshot,
    fold,
)
from ledger.metrics.month_ends import day_mrr
from ledger.metrics.movements import movements_of
from ledger.metrics.mrr import mrr_figures
from ledger.metrics.retention import retention_of
from test_properties import CURRENCIES, FIRST, LAST, LATER, histories

BOUNDED = settings(max_examples=40, deadline=None)


def figures(snapshot: Snapshot) -> object:
    """Every figure the memo keeps, of both currencies."""
    return [
        (
            movements_of(snapshot, c, FIRST, LAST),
            retention_of(snapshot, c, Month(2025, 12), 12),
            retention_of(snapshot, c, LAST, 3),
            mrr_figures(snapshot, c, date(2025, 6, 15)),
            mrr_figures(snapshot, c, LAST.last_day),
        )
        for c in CURRENCIES
    ]


def by_line(snapshot: Snapshot, currency: str, day: date) -> dict[str, dict[str, int]]:
    """MRR per account and contract on `day`, line by line (Line.mrr_on), no memo."""
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for line in snapshot.lines:
        amount = line.mrr_on(day)
        if line.currency == currency and amount:
            contracts = found[line.account_id]
            contracts[line.contract_id] = contracts.get(line.contract_id, 0) + amount
    return dict(found)


def late_termination(history: History) -> tuple[Fact, ...]:
    """A termination of the first contract effective inside March 2025, recorded in May."""
    first = next(f for f in history.facts if isinstance(f, LineStarted))
    return (ContractEnded(datetime(2025, 5, 2, tzinfo=UTC), first.contract_id, date(2025, 3, 9)),)


def in_parts(facts: tuple[Fact, ...], cuts: list[int]) -> list[tuple[Fact, ...]]:
    bounds = [0, *sorted(min(c, len(facts)) for c in cuts), len(facts)]
    return [facts[a:b] for a, b in pairwise(bounds)]


@BOUNDED
@given(histories, st.lists(st.integers(0, 40), max_size=4))
def test_a_folding_fed_in_parts_equals_a_fold_of_everything_and_so_do_its_figures(
    history: History, cuts: list[int]
) -> None:
    facts = history.facts + late_termination(history)
    folding = Folding()
    added: list[Fact] = []
    for part in in_parts(facts, cuts):
        folding.add(((len(added) + i,), fact) for i, fact in enumerate(part))
        added += part
        kept = folding.snapshot()
        fresh = fold(added)
        assert kept == fresh
        # The kept one carries the month ends over from the snapshot before it.
        assert figures(kept) == figures(fresh)


def some_figures(snapshot: Snapshot, asked: int) -> object:
    """One of the figures, or none: what one request between two new events may ask."""
    match asked % 5:
        case 0:
            return [mrr_figures(snapshot, c, LAST.last_day) for c in CURRENCIES]
        case 1:
            return [movements_of(snapshot, c, FIRST, LAST) for c in CURRENCIES]
        case 2:
            return [retention_of(snapshot, c, Month(2025, 12), 12) for c in CURRENCIES]
        case 3:
            return [day_mrr(snapshot, c, [date(2025, 6, 15)]) for c in CURRENCIES]
    return None


@BOUNDED
@given(histories, st.lists(st.tuples(st.integers(0, 40), st.integers(0, 4)), max_size=6))
def test_figures_asked_between_parts_carry_over_from_the_last_snapshot_that_had_them(
    history: History, asks: list[tuple[int, int]]
) -> None:
    """Each part's snapshot asked for other figures than the one before (or none): a
    figure is carried over from the last snapshot that worked it out, with every
    contract changed since, and equals a fresh fold's."""
    facts = history.facts + late_termination(history)
    folding = Folding()
    added: list[Fact] = []
    for part, (_, asked) in zip(
        in_parts(facts, [cut for cut, _ in asks]), [*asks, (0, 1)], strict=True
    ):
        folding.add(((len(added) + i,), fact) for i, fact in enumerate(part))
        added += part
        kept = folding.snapshot()
        assert some_figures(kept, asked) == some_figures(fold(added), asked)
    assert figures(folding.snapshot()) == figures(fold(added))


@BOUNDED
@given(histories, st.integers(0, 30))
def test_quantity_changes_added_out_of_record_order_fold_as_in_order(
    history: History, late: int
) -> None:
    """Facts added in any order, each at its Order, give the fold of them in Order."""
    facts = history.facts
    order = list(range(len(facts)))
    moved = order[late % max(1, len(order)) :] + order[: late % max(1, len(order))]
    folding = Folding()
    folding.add(((i,), facts[i]) for i in moved[: len(moved) // 2])
    folding.add(((i,), facts[i]) for i in moved[len(moved) // 2 :])
    assert folding.snapshot() == fold(facts)


@BOUNDED
@given(histories)
def test_month_end_mrr_kept_with_the_snapshot_equals_the_lines_mrr(history: History) -> None:
    snapshot = history.as_known_at(LATER)
    days = [m.last_day for m in months_between(FIRST.plus(-1), LAST)] + [date(2025, 2, 14)]
    for currency in CURRENCIES:
        for found in day_mrr(snapshot, currency, days):
            assert found.accounts == by_line(snapshot, currency, found.day)
            assert found.totals == {a: sum(c.values()) for a, c in found.accounts.items()}
        # Asked again: the same, from the memo.
        assert day_mrr(snapshot, currency, days[::-1]) == day_mrr(snapshot, currency, days)[::-1]


def test_a_late_termination_changes_march_as_corrected_and_not_as_known_at_march_end() -> None:
    """Recorded in May, effective 10 March: the kept fold (as known now) counts it; a fold
    as known at the end of March does not."""
    recorded = datetime(2025, 1, 2, tzinfo=UTC)
    start = LineStarted(recorded, "l1", "a", "EUR", "k1", "month", 5000, 2, date(2025, 1, 1),
                        date(2025, 12, 31))  # fmt: skip
    change = QuantityChanged(recorded + timedelta(days=30), "l1", date(2025, 2, 1), 3)
    end = ContractEnded(datetime(2025, 5, 2, tzinfo=UTC), "k1", date(2025, 3, 9))
    folding = Folding()
    folding.add([((0,), start), ((1,), change)])
    before = folding.snapshot()
    assert movements_of(before, "EUR", Month(2025, 3), Month(2025, 3))[0].churn == 0
    folding.add([((2,), end)])
    now = folding.snapshot()
    (march,) = movements_of(now, "EUR", Month(2025, 3), Month(2025, 3))
    assert (march.mrr_before, march.mrr_after, march.churn) == (15000, 0, 15000)
    history = History((start, change, end))
    as_known = history.as_known_at(datetime(2025, 3, 31, 23, 59, tzinfo=UTC))
    assert movements_of(as_known, "EUR", Month(2025, 3), Month(2025, 3))[0].churn == 0
    assert now == history.as_known_at(LATER)
