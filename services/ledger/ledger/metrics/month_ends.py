"""MRR of every account and contract on given days, worked out once per Snapshot.

Every figure that reads MRR at a day (MRR, movements, churn, retention, the
dashboard) asks `day_mrr`: the days it has not seen yet are worked out in one pass
over the currency's lines (each line visits only the days it is active on), and
kept in the snapshot's memo. A snapshot folded from an earlier one by a Folding
(`Snapshot.derived`) takes the earlier one's days and works out again only the
contracts whose lines changed. Amounts are exact integers, as `Line.mrr_on` gives.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol, TypeVar, cast

from ledger.metrics.history import Derived, Line, Snapshot

# Days kept per snapshot beyond which the oldest is dropped (month ends of ten years fit).
MEMO_DAYS = 512
T = TypeVar("T")


@dataclass(frozen=True)
class DayMrr:
    """MRR on `day` in one currency: per account, each contract with a line of non-zero MRR
    (its lines rounded once each, then added), and the account's total.

    `accounts` lists every account with such a contract, also one whose total is not
    above 0; the customers are those whose total is (`customers`).
    """

    day: date
    accounts: Mapping[str, Mapping[str, int]]  # account -> contract -> MRR, minor units
    totals: Mapping[str, int]  # account -> sum of its contracts

    def customers(self) -> dict[str, int]:
        """MRR per account above 0 (the customers on the day)."""
        return {account: total for account, total in self.totals.items() if total > 0}

    @property
    def mrr(self) -> int:
        """Every account's total added (the customers' MRR when no total is below 0)."""
        return sum(self.totals.values())


def day_mrr(snapshot: Snapshot, currency: str, days: Sequence[date]) -> list[DayMrr]:
    """MRR per account and contract in `currency` on each of `days`, in their order."""
    memo = snapshot.memo
    missing = sorted({d for d in days if ("day_mrr", currency, d) not in memo})
    if missing:
        derived = snapshot.derived
        fresh = []
        for day in missing:
            key = ("day_mrr", currency, day)
            earlier = None if derived is None else derived.memo.get(key)
            if derived is not None and isinstance(earlier, DayMrr):
                memo[key] = _carried(earlier, derived, currency)
            else:
                fresh.append(day)
        if fresh:
            for found in _worked_out(snapshot.lines_in(currency), fresh):
                memo[("day_mrr", currency, found.day)] = found
        _trim(memo)
    return [cast(DayMrr, memo[("day_mrr", currency, d)]) for d in days]


def kept(snapshot: Snapshot, key: tuple[Hashable, ...], work: Callable[[], T]) -> T:
    """What `work` gives, worked out once per snapshot under `key` (its first item names
    the kind of figure; at most MEMO_DAYS of a kind are kept, the oldest dropped)."""
    memo = snapshot.memo
    if key in memo:
        return cast(T, memo[key])
    found = memo[key] = work()
    _trim(memo, key[0])
    return found


def _trim(memo: dict[Hashable, object], kind: Hashable = "day_mrr") -> None:
    keys = [key for key in memo if isinstance(key, tuple) and key[0] == kind]
    for key in keys[: max(0, len(keys) - MEMO_DAYS)]:
        del memo[key]


def _worked_out(lines: Iterable[Line], days: Sequence[date]) -> list[DayMrr]:
    """One pass over `lines`: each adds its MRR to the days (sorted) it is active on."""
    shares: list[dict[str, dict[str, int]]] = [{} for _ in days]
    for line in lines:
        index = bisect_left(days, line.start_date)
        last = bisect_right(days, line.end_date)
        if index == last:
            continue
        account, contract = line.account_id, line.contract_id
        # The line's amounts by the dates they start on, walked along with the days.
        amounts, changes = line.amounts, line.change_dates
        while index < last:
            # Several changes may fall between two days: the last one before the day holds.
            segment = bisect_right(changes, days[index]) - 1
            upto = (
                bisect_left(days, changes[segment + 1], index, last)
                if segment + 1 < len(changes)
                else last
            )
            amount = amounts[segment]
            if amount:
                for at in range(index, upto):
                    contracts = shares[at].setdefault(account, {})
                    contracts[contract] = contracts.get(contract, 0) + amount
            index = upto
    return [_day(day, accounts) for day, accounts in zip(days, shares, strict=True)]


def _day(day: date, accounts: dict[str, dict[str, int]]) -> DayMrr:
    # A contract whose lines add up to 0 stays listed, as each line's share was counted.
    return DayMrr(day, accounts, {a: sum(c.values()) for a, c in accounts.items()})


def _carried(earlier: DayMrr, derived: Derived, currency: str) -> DayMrr:
    """`earlier` (the day in the snapshot before) with the changed contracts worked out
    again from their lines now; every other account's entry is shared, not copied."""
    owners = {(a, c) for cur, a, c in derived.owners if cur == currency}
    if not owners:
        return earlier
    accounts = dict(earlier.accounts)
    totals = dict(earlier.totals)
    touched = {account for account, _ in owners}
    for account in touched:
        contracts = dict(accounts.get(account, {}))
        for owner, contract in owners:
            if owner == account:
                contracts.pop(contract, None)
        accounts[account] = contracts
    for line in derived.lines:
        if line.currency != currency or (line.account_id, line.contract_id) not in owners:
            continue
        amount = line.mrr_on(earlier.day)
        if amount:
            contracts = cast(dict[str, int], accounts[line.account_id])
            contracts[line.contract_id] = contracts.get(line.contract_id, 0) + amount
    for account in touched:
        if accounts[account]:
            totals[account] = sum(accounts[account].values())
        else:
            del accounts[account]
            totals.pop(account, None)
    return DayMrr(earlier.day, accounts, totals)


def carried_over(
    snapshot: Snapshot, currency: str, key: tuple[Hashable, ...]
) -> tuple[frozenset[str], object] | None:
    """What the snapshot folded before this one kept under `key`, and the accounts of
    `currency` whose lines changed since (only theirs need working out again); None when
    there is none, or when the currency's first day moved (figures start from it)."""
    derived = snapshot.derived
    if derived is None or key not in derived.memo:
        return None
    first_day = ("first_day", currency)
    if first_day not in derived.memo or derived.memo[first_day] != snapshot.first_day(currency):
        return None
    touched = frozenset(a for cur, a, _ in derived.owners if cur == currency)
    return touched, derived.memo[key]


class ByAccount(Protocol):
    """A row of a figure's detail, sorted by account id."""

    @property
    def account_id(self) -> str: ...


R = TypeVar("R", bound=ByAccount)


def replaced(
    rows: Sequence[R], accounts: Iterable[str], row: Callable[[str], R | None]
) -> tuple[R, ...]:
    """`rows` (sorted by account id) with each of `accounts`' rows replaced by `row(account)`
    (dropped when None): a few binary searches, the other rows shared."""
    result = list(rows)
    for account in sorted(accounts):
        at = bisect_left(result, account, key=_account)
        if at < len(result) and result[at].account_id == account:
            del result[at]
        new = row(account)
        if new is not None:
            result.insert(at, new)
    return tuple(result)


def _account(row: ByAccount) -> str:
    return row.account_id
