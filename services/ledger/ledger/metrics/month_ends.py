"""MRR of every account and contract on given days, worked out once per Snapshot.

Every figure that reads MRR at a day (MRR, movements, churn, retention, the
dashboard) asks `day_mrr`: the days it has not seen yet are worked out in one pass
over the currency's lines (each line visits only the days it is active on), and
kept in the snapshot's memo. A snapshot folded from an earlier one by a Folding
(`Snapshot.derived`) takes the earlier one's days and works out again only the
contracts whose lines changed. Amounts are exact integers, as `Line.mrr_on` gives.

A day (or a figure kept by `carried_over`) the snapshot just before did not work
out is carried over from the last snapshot that did (`Earlier`), with every
contract changed since: requests that ask different days between new events (MRR
on one day, then twelve months of movements) work out only what changed.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol, TypeVar, cast

from ledger.metrics.history import Derived, Line, Snapshot

# Days kept per snapshot beyond which the oldest is dropped (month ends of ten years fit).
MEMO_DAYS = 512
# The memo's figures carried over from snapshot to snapshot (keyed (kind, currency, ...)).
CARRIED_KINDS = frozenset({"day_mrr", "mrr_figures", "movements", "retention", "first_seen"})
# Contracts changed since an earlier figure beyond which it is worked out afresh instead.
MOST_CHANGED = 5_000
# Figures of a kind carried over from before the snapshot just before, at most (each
# holds its snapshot's month-end maps alive: about 10 MB at 100,000 accounts).
CARRIED_AT_MOST = 32
T = TypeVar("T")
Owner = tuple[str, str]  # (account, contract)
OwnerLines = Mapping[Owner, tuple[Line, ...]]  # a changed contract's lines now


@dataclass(frozen=True)
class Earlier:
    """A figure of an earlier snapshot, the contracts of its currency whose lines changed
    since, their lines now, and the currency's first day then."""

    value: object
    owners: frozenset[Owner]
    lines: OwnerLines
    first_day: object


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
        carried = _earlier(snapshot, currency)
        fresh = []
        for day in missing:
            key = ("day_mrr", currency, day)
            earlier = carried.get(key)
            if earlier is not None and isinstance(earlier.value, DayMrr):
                memo[key] = _carried(earlier.value, earlier.owners, earlier.lines)
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


def _earlier(snapshot: Snapshot, currency: str) -> Mapping[tuple[Hashable, ...], Earlier]:
    """Every figure of `currency` an earlier snapshot worked out that this one can carry
    over (worked out once per snapshot): those of the snapshot just before, and those it
    could have carried and did not ask for, with this step's changes added."""
    memo_key = ("earlier", currency)
    found = snapshot.memo.get(memo_key)
    if found is not None:
        return cast(dict[tuple[Hashable, ...], Earlier], found)
    derived = snapshot.derived
    result: dict[tuple[Hashable, ...], Earlier] = {}
    if derived is not None:
        step, lines = _step(derived, currency)
        before = cast(dict[tuple[Hashable, ...], Earlier], derived.memo.get(memo_key, {}))
        # Oldest first (each snapshot appends its own last): of a kind, the newest
        # CARRIED_AT_MOST go on.
        newer = Counter(key[0] for key in before)
        for key, earlier in before.items():
            newer[key[0]] -= 1
            owners = earlier.owners | step
            if newer[key[0]] < CARRIED_AT_MOST and len(owners) <= MOST_CHANGED:
                merged = {**earlier.lines, **lines} if lines else earlier.lines
                result[key] = Earlier(earlier.value, owners, merged, earlier.first_day)
        first_day = derived.memo.get(("first_day", currency), _UNKNOWN)
        for kept_key, value in derived.memo.items():
            if (
                isinstance(kept_key, tuple)
                and len(kept_key) > 1
                and kept_key[0] in CARRIED_KINDS
                and kept_key[1] == currency
            ):
                result.pop(kept_key, None)
                result[kept_key] = Earlier(value, step, lines, first_day)
    snapshot.memo[memo_key] = result
    return result


_UNKNOWN = object()  # a first day the snapshot before did not know (a restarted line)


def _step(
    derived: Derived, currency: str
) -> tuple[frozenset[Owner], dict[Owner, tuple[Line, ...]]]:
    """The contracts of `currency` whose lines changed in one Folding step, and their
    lines now."""
    owners = frozenset((a, c) for cur, a, c in derived.owners if cur == currency)
    lines: dict[Owner, list[Line]] = {owner: [] for owner in owners}
    for line in derived.lines:
        if line.currency == currency and (line.account_id, line.contract_id) in lines:
            lines[(line.account_id, line.contract_id)].append(line)
    return owners, {owner: tuple(of) for owner, of in lines.items()}


def _carried(earlier: DayMrr, owners: frozenset[Owner], lines: OwnerLines) -> DayMrr:
    """`earlier` (the day in an earlier snapshot) with the contracts changed since worked
    out again from their lines now; every other account's entry is shared, not copied."""
    if not owners:
        return earlier
    accounts = dict(earlier.accounts)
    totals = dict(earlier.totals)
    touched = {account for account, _ in owners}
    for account in touched:
        contracts = dict(accounts.get(account, {}))
        for holder, contract in owners:
            if holder == account:
                contracts.pop(contract, None)
        accounts[account] = contracts
    for changed in owners:
        for line in lines.get(changed) or ():
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
    """What the last snapshot before this one to work it out kept under `key`, and the
    accounts of `currency` whose lines changed since (only theirs need working out
    again); None when there is none, or when the currency's first day moved (figures
    start from it)."""
    earlier = _earlier(snapshot, currency).get(key)
    if earlier is None or earlier.first_day != snapshot.first_day(currency):
        return None
    return frozenset(account for account, _ in earlier.owners), earlier.value


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
