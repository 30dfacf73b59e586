"""The chart of accounts (BILLING_RULES.md 7): seven ledger accounts, by number."""

from __future__ import annotations

from enum import StrEnum


class LedgerAccount(StrEnum):
    """A general-ledger account, by its number. Not a customer account (those are `account_id`)."""

    CASH = "1000"
    ACCOUNTS_RECEIVABLE = "1100"
    DEFERRED_REVENUE = "2100"
    CUSTOMER_CREDIT = "2200"
    SUBSCRIPTION_REVENUE = "4000"
    ONE_TIME_REVENUE = "4100"
    BAD_DEBT_EXPENSE = "6000"

    @property
    def label(self) -> str:
        """The account's name in the chart ("Accounts Receivable")."""
        return _LABELS[self]

    @property
    def debit_normal(self) -> bool:
        """True for assets and expenses (balance = debits - credits), False for the others."""
        return self in _DEBIT_NORMAL


_LABELS: dict[LedgerAccount, str] = {
    LedgerAccount.CASH: "Cash",
    LedgerAccount.ACCOUNTS_RECEIVABLE: "Accounts Receivable",
    LedgerAccount.DEFERRED_REVENUE: "Deferred Revenue",
    LedgerAccount.CUSTOMER_CREDIT: "Customer Credit",
    LedgerAccount.SUBSCRIPTION_REVENUE: "Subscription Revenue",
    LedgerAccount.ONE_TIME_REVENUE: "One-time Revenue",
    LedgerAccount.BAD_DEBT_EXPENSE: "Bad Debt Expense",
}

_DEBIT_NORMAL = frozenset(
    {LedgerAccount.CASH, LedgerAccount.ACCOUNTS_RECEIVABLE, LedgerAccount.BAD_DEBT_EXPENSE}
)

# The chart in number order: reports list every account, in this order.
CHART: tuple[LedgerAccount, ...] = tuple(LedgerAccount)
