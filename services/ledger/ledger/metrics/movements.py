"""MRR movements of a month per (account, currency): new, expansion, reactivation,
contraction, churn, netted per account so that they add up to the change in MRR."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ledger.metrics.calendar import Month, months_between
from ledger.metrics.history import History, Snapshot
from ledger.metrics.mrr import contract_mrr


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


def _by_account(shares: Mapping[tuple[str, str], int]) -> dict[str, dict[str, int]]:
    """Contract MRR (all > 0) grouped by account: the customers, contract by contract."""
    grouped: dict[str, dict[str, int]] = defaultdict(dict)
    for (account, contract), amount in shares.items():
        grouped[account][contract] = amount
    return dict(grouped)


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
    """The movements of each month `first`..`last` from a snapshot (see movements)."""
    months = list(months_between(first, last))  # raises when last < first
    start = snapshot.first_day(currency)
    origin = min(Month.of(start), first.plus(-1)) if start else first.plus(-1)
    # One pass over the lines per month end: each contract's MRR, grouped by account.
    ends = {
        m: _by_account(contract_mrr(snapshot, currency, m.last_day))
        for m in months_between(origin, last)
    }
    seen: set[str] = set()  # accounts with MRR > 0 at some month end before M-1's
    for month in months_between(origin, first.plus(-2)) if origin < first.plus(-1) else ():
        seen.update(ends[month])
    result = []
    for month in months:
        before, after = ends[month.plus(-1)], ends[month]
        moves = []
        for account in sorted(before.keys() | after.keys()):
            was, now = before.get(account, {}), after.get(account, {})
            m0, m1 = sum(was.values()), sum(now.values())
            decided = classify(m0, m1, account in seen)
            if decided is not None:
                contracts = _contract_moves(was, now)
                moves.append(AccountMovement(account, *decided, m0, m1, contracts))
        totals = {kind: sum(m.amount for m in moves if m.kind is kind) for kind in MovementKind}
        result.append(
            MonthMovements(
                month,
                currency,
                sum(sum(shares.values()) for shares in before.values()),
                sum(sum(shares.values()) for shares in after.values()),
                totals[MovementKind.NEW],
                totals[MovementKind.EXPANSION],
                totals[MovementKind.REACTIVATION],
                totals[MovementKind.CONTRACTION],
                totals[MovementKind.CHURN],
                len(before),
                tuple(moves),
            )
        )
        seen.update(before)
    return tuple(result)


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
