"""Reports assembled from the journal's SQL aggregates, in the domain's report shapes.

The sums come from the database (store/journal.py); this only lays them out:
every account of the chart, every month of a range, zeros included.
"""

from __future__ import annotations

from datetime import date

from revline_pricing import add_months

from ledger.domain.accounts import CHART, LedgerAccount
from ledger.domain.recognition import month_start
from ledger.domain.reports import RevenueMonth, RevenueReport, TrialBalance, TrialBalanceRow
from ledger.store.journal import AccountTotals


def trial_balances(as_of: date, totals: list[AccountTotals]) -> dict[str, TrialBalance]:
    """The totals as the domain's trial balances: every account of the chart, per currency."""
    cells: dict[str, dict[LedgerAccount, tuple[int, int]]] = {}
    for total in totals:
        found = cells.setdefault(total.currency, {})
        found[LedgerAccount(total.ledger_account)] = (total.debit, total.credit)
    return {
        currency: TrialBalance(
            currency,
            as_of,
            tuple(TrialBalanceRow(account, *found.get(account, (0, 0))) for account in CHART),
        )
        for currency, found in sorted(cells.items())
    }


def revenue_reports(
    date_from: date,
    date_to: date,
    earned: list[tuple[str, date, str, int]],
    totals: list[AccountTotals],
) -> list[RevenueReport]:
    """Revenue per service month of [date_from, date_to] (4000 and 4100 apart) from the
    `earned` sums, and the 2100 balance at `date_to` from `totals`, per currency."""
    months: list[date] = []
    month = month_start(date_from)
    while month <= date_to:
        months.append(month)
        month = add_months(month, 1)
    cells: dict[str, dict[date, list[int]]] = {}
    for currency, service_month, account, amount in earned:
        by_month = cells.setdefault(currency, {m: [0, 0] for m in months})
        column = 0 if account == LedgerAccount.SUBSCRIPTION_REVENUE else 1
        by_month[service_month][column] += amount
    deferred = {
        t.currency: t.credit - t.debit
        for t in totals
        if t.ledger_account == LedgerAccount.DEFERRED_REVENUE
    }
    return [
        RevenueReport(
            currency,
            tuple(RevenueMonth(m, *cells.get(currency, {}).get(m, [0, 0])) for m in months),
            deferred.get(currency, 0),
        )
        for currency in sorted(set(cells) | set(deferred))
    ]


def tie_outs(
    moves: dict[tuple[str, str], int], totals: list[AccountTotals]
) -> list[tuple[str, int, int, int, int]]:
    """(currency, open invoices, 1100 balance, credit lots, 2200 balance) per currency."""
    ledger = {(t.currency, t.ledger_account): t.debit - t.credit for t in totals}
    currencies = sorted({c for c, _ in moves} | {c for c, _ in ledger})
    return [
        (
            currency,
            moves.get((currency, "invoice"), 0),
            ledger.get((currency, LedgerAccount.ACCOUNTS_RECEIVABLE), 0),
            moves.get((currency, "credit_lot"), 0),
            -ledger.get((currency, LedgerAccount.CUSTOMER_CREDIT), 0),
        )
        for currency in currencies
    ]
