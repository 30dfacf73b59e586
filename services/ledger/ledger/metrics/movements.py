"""MRR movements of a month per (account, currency): new, expansion, reactivation,
contraction, churn, netted per account so that they add up to the change in MRR."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import cast

from ledger.metrics.calendar import Month, months_between
from ledger.metrics.history import History, Snapshot
from ledger.metrics.month_ends import carried_over, day_mrr, kept, replaced


class MovementKind(StrEnum):
    """Which row of METRICS.md's movement table an account's month falls in."""

    NEW = "new"
    EXPANSION = "expansion"
    REACTIVATION = "reactivation"
    CONTRACTION = "contraction"
    CHURN = "churn"


@dataclass(frozen=True)
class ContractMove:
    """A contract whose MRR differs between the two month ends: what moved the account."""

    contract_id: str
    mrr_before: int
    mrr_after: int


@dataclass(frozen=True)
class AccountMovement:
    """One account's movement in the month: m0 at the end of M-1, m1 at the end of M.

    `contracts` are the account's contracts whose MRR changed, sorted by id.
    """

    account_id: str
    kind: MovementKind
    amount: int  # > 0, minor units
    mrr_before: int
    mrr_after: int
    contracts: tuple[ContractMove, ...]


@dataclass(frozen=True)
class MonthMovements:
    """The movements of one month in one currency, with the accounts behind them.

    mrr_after - mrr_before == new + reactivation + expansion - contraction - churn,
    every month (`net_change`); `accounts` lists each account that moved, sorted.
    """

    month: Month
    currency: str
    mrr_before: int
    mrr_after: int
    new: int
    expansion: int
    reactivation: int
    contraction: int
    churn: int
    customers_before: int  # accounts with MRR > 0 at the end of M-1, the logo churn base
    accounts: tuple[AccountMovement, ...]

    @property
    def net_change(self) -> int:
        """new + reactivation + expansion - contraction - churn."""
        return self.new + self.reactivation + self.expansion - self.contraction - self.churn

    def of(self, kind: MovementKind) -> tuple[AccountMovement, ...]:
        """The accounts whose movement is `kind`."""
        return tuple(move for move in self.accounts if move.kind is kind)


def classify(before: int, after: int, was_customer: bool) -> tuple[MovementKind, int] | None:
    """The movement of an account from m0 to m1, None when there is none.

    `was_customer`: MRR > 0 at some month end before M-1's (decides new from reactivation).
    """
    if before == after:
        return None
    if before == 0:
        return (MovementKind.REACTIVATION if was_customer else MovementKind.NEW), after
    if after == 0:
        return MovementKind.CHURN, before
    if after > before:
        return MovementKind.EXPANSION, after - before
    return MovementKind.CONTRACTION, before - after


def _contract_moves(
    before: Mapping[str, int], after: Mapping[str, int]
) -> tuple[ContractMove, ...]:
    return tuple(
        ContractMove(contract, before.get(contract, 0), after.get(contract, 0))
        for contract in sorted(before.keys() | after.keys())
        if before.get(contract, 0) != after.get(contract, 0)
    )


def movements_of(
    snapshot: Snapshot, currency: str, first: Month, last: Month
) -> tuple[MonthMovements, ...]:
    """The movements of each month `first`..`last` from a snapshot (see movements).

    Each month's are worked out once per snapshot; the month ends they read come from
    one pass over the lines (ledger/metrics/month_ends.py).
    """
    months = list(months_between(first, last))  # raises when last < first
    start = snapshot.first_day(currency)
    origin = min(Month.of(start), first.plus(-1)) if start else first.plus(-1)
    day_mrr(snapshot, currency, [m.last_day for m in months_between(origin, last)])
    return tuple(
        kept(snapshot, ("movements", currency, m), partial(_month, snapshot, currency, m))
        for m in months
    )


def _month(snapshot: Snapshot, currency: str, month: Month) -> MonthMovements:
    before, after = day_mrr(snapshot, currency, [month.plus(-1).last_day, month.last_day])
    seen = _first_seen(snapshot, currency, month.plus(-2))
    customer_by = month.plus(-2)

    def move_of(account: str) -> AccountMovement | None:
        m0, m1 = before.totals.get(account, 0), after.totals.get(account, 0)
        since = seen.get(account)
        decided = classify(m0, m1, since is not None and since <= customer_by)
        if decided is None:
            return None
        contracts = _contract_moves(
            before.accounts.get(account, {}), after.accounts.get(account, {})
        )
        return AccountMovement(account, *decided, m0, m1, contracts)

    carried = carried_over(snapshot, currency, ("movements", currency, month))
    if carried is not None:
        # The month as the snapshot before had it: only the changed accounts move anew.
        touched, earlier = carried
        moves = replaced(cast(MonthMovements, earlier).accounts, touched, move_of)
    else:
        # The accounts whose total differs between the two month ends (set operations on
        # the items: the unchanged majority is never looked at one by one).
        changed = {a for a, _ in before.totals.items() ^ after.totals.items()}
        found = (move_of(account) for account in sorted(changed))
        moves = tuple(move for move in found if move is not None)
    totals = dict.fromkeys(MovementKind, 0)
    for move in moves:
        totals[move.kind] += move.amount
    return MonthMovements(
        month,
        currency,
        before.mrr,
        after.mrr,
        totals[MovementKind.NEW],
        totals[MovementKind.EXPANSION],
        totals[MovementKind.REACTIVATION],
        totals[MovementKind.CONTRACTION],
        totals[MovementKind.CHURN],
        len(before.accounts),
        moves,
    )


def _first_seen(snapshot: Snapshot, currency: str, upto: Month) -> Mapping[str, Month]:
    """Per account, the first month end (up to `upto`'s at least) with a contract of
    non-zero MRR: an account seen at or before M-2's was a customer before M-1."""
    start = snapshot.first_day(currency)
    if start is None:
        return {}
    key = ("first_seen", currency)
    carried = carried_over(snapshot, currency, key)
    if key not in snapshot.memo and carried is not None:
        touched, earlier = carried
        done, seen = cast(tuple[Month, dict[str, Month]], earlier)
        seen = dict(seen)
        for account in touched:
            seen.pop(account, None)
        origin = Month.of(start)
        months = list(months_between(origin, done)) if touched and done >= origin else []
        days = day_mrr(snapshot, currency, [m.last_day for m in months])
        for month, day in zip(months, days, strict=True):
            for account in touched & day.accounts.keys():
                seen.setdefault(account, month)
        snapshot.memo[key] = (done, seen)
    done, seen = cast(
        tuple[Month, dict[str, Month]], snapshot.memo.get(key, (Month.of(start).plus(-1), {}))
    )
    if done >= upto:
        return seen
    seen = dict(seen)
    months = list(months_between(done.plus(1), upto))
    days = day_mrr(snapshot, currency, [m.last_day for m in months])
    for month, day in zip(months, days, strict=True):
        for account in day.accounts:
            seen.setdefault(account, month)
    snapshot.memo[key] = (upto, seen)
    return seen


def movements(
    history: History, currency: str, first: Month, last: Month, known_at: datetime
) -> tuple[MonthMovements, ...]:
    """The MRR movements of each month `first`..`last` in `currency`, as known at `known_at`.

    Per account, m0 = MRR at the end of M-1 and m1 at the end of M (several
    contracts added up first): new (m0 = 0 < m1, never a customer at an earlier
    month end), reactivation (m0 = 0 < m1, a customer before), expansion,
    contraction, churn (m0 > 0 = m1). Netted per month: an account that joins
    and leaves inside a month has no movement. Raises InvalidMetricQuery when
    last < first.
    """
    return movements_of(history.as_known_at(known_at), currency, first, last)
