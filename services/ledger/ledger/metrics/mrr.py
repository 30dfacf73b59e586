"""MRR(D), ARR(D), customers and ARPA(D) per currency (METRICS.md), with the accounts behind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import cast

from revline_pricing import round_half_up

from ledger.metrics.history import History, Snapshot
from ledger.metrics.month_ends import carried_over, day_mrr, kept, replaced


@dataclass(frozen=True)
class ContractMrr:
    """One contract's share of an account's MRR on the day."""

    contract_id: str
    mrr: int


@dataclass(frozen=True)
class AccountMrr:
    """A customer's MRR on the day (> 0), contract by contract."""

    account_id: str
    mrr: int
    contracts: tuple[ContractMrr, ...]


@dataclass(frozen=True)
class MrrFigures:
    """MRR, ARR, customers and ARPA of one currency on `on`, in minor units.

    `arpa` is MRR / customers rounded half-up, None without customers; `accounts`
    is the detail, one row per customer, sorted by account id.
    """

    on: date
    currency: str
    mrr: int
    arr: int
    customers: int
    arpa: int | None
    accounts: tuple[AccountMrr, ...]


def contract_mrr(snapshot: Snapshot, currency: str, day: date) -> dict[tuple[str, str], int]:
    """MRR on `day` per (account, contract) in `currency`: each line rounded once, then added."""
    (found,) = day_mrr(snapshot, currency, [day])
    return {
        (account, contract): amount
        for account, contracts in found.accounts.items()
        for contract, amount in contracts.items()
    }


def account_mrr(snapshot: Snapshot, currency: str, day: date) -> dict[str, int]:
    """MRR on `day` per account in `currency`, only the accounts above 0 (the customers).

    Several contracts of one account add up first; a line priced 0 adds 0.
    """
    (found,) = day_mrr(snapshot, currency, [day])
    return found.customers()


def arpa(total: int, customers: int) -> int | None:
    """MRR per customer, rounded half-up; None without customers."""
    if customers == 0:
        return None
    return round_half_up(Decimal(total) / Decimal(customers))


def mrr_figures(snapshot: Snapshot, currency: str, on: date) -> MrrFigures:
    """MRR(D) and what follows from it, from a snapshot (see mrr); kept with the snapshot."""
    return kept(snapshot, ("mrr_figures", currency, on), lambda: _figures(snapshot, currency, on))


def _figures(snapshot: Snapshot, currency: str, on: date) -> MrrFigures:
    (found,) = day_mrr(snapshot, currency, [on])

    def row(account: str) -> AccountMrr:
        shares = sorted(found.accounts[account].items())
        return AccountMrr(account, found.totals[account], tuple(ContractMrr(*s) for s in shares))

    carried = carried_over(snapshot, currency, ("mrr_figures", currency, on))
    if carried is None:
        rows = tuple(row(account) for account in sorted(found.customers()))
    else:
        # The day as the snapshot before had it: only the changed accounts anew.
        touched, earlier = carried

        def customer(account: str) -> AccountMrr | None:
            return row(account) if found.totals.get(account, 0) > 0 else None

        rows = replaced(cast(MrrFigures, earlier).accounts, touched, customer)
    total = sum(row.mrr for row in rows)
    return MrrFigures(on, currency, total, 12 * total, len(rows), arpa(total, len(rows)), rows)


def mrr(history: History, currency: str, on: date, known_at: datetime) -> MrrFigures:
    """MRR(D) of `currency` on day `on`, as known at `known_at`.

    The sum over recurring lines active on D (start <= D <= end, inclusive) of
    round_half_up(unit_price x quantity_on(D) / n). ARR = 12 x MRR.
    """
    return mrr_figures(history.as_known_at(known_at), currency, on)
