"""Wire shapes of the ledger API (API.md, "ledger (8005)"): amounts in minor units."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from ledger.domain.accounts import LedgerAccount
from ledger.domain.reports import TrialBalance


class ConcernsOut(BaseModel):
    """What an entry is about: an invoice, credit note, payment or refund (and line)."""

    kind: Literal["invoice", "credit_note", "payment", "refund"]
    id: str
    line_no: int | None = None


class EntryLineOut(BaseModel):
    """One ledger account's net amount in an entry: a debit or a credit."""

    ledger_account: str = Field(description="the account's number in the chart, e.g. 1100")
    name: str
    debit: int
    credit: int


class JournalEntryOut(BaseModel):
    """A balanced journal entry with its lines and the event that caused it."""

    id: str
    entry_date: date
    account_id: str = Field(description="the customer account")
    currency: str
    kind: str
    concerns: ConcernsOut
    service_month: date | None = Field(
        description="first day of the month whose revenue it earns or reverses"
    )
    lines: list[EntryLineOut]
    event_id: str = Field(description="the JournalEntryPosted event on ledger.events")
    source_event_id: str = Field(description="the upstream event (or request) that caused it")


def journal_entry_out(row: dict[str, Any]) -> JournalEntryOut:
    """An entry row of the projection (with its `lines`) on the wire."""
    return JournalEntryOut(
        id=row["entry_id"],
        entry_date=row["entry_date"],
        account_id=row["account_id"],
        currency=row["currency"],
        kind=row["kind"],
        concerns=ConcernsOut(
            kind=row["concerns_kind"], id=row["concerns_id"], line_no=row["concerns_line_no"]
        ),
        service_month=row["service_month"],
        lines=[
            EntryLineOut(
                ledger_account=line["ledger_account"],
                name=LedgerAccount(line["ledger_account"]).label,
                debit=line["debit"],
                credit=line["credit"],
            )
            for line in row["lines"]
        ],
        event_id=row["event_id"],
        source_event_id=row["source_event_id"],
    )


class CurrencyBalanceOut(BaseModel):
    """A ledger account's totals in one currency; `balance` in its normal direction."""

    currency: str
    debit: int
    credit: int
    balance: int


class LedgerAccountOut(BaseModel):
    """An account of the chart with its balances as of a date, per currency."""

    number: str
    name: str
    normal_balance: Literal["debit", "credit"]
    balances: list[CurrencyBalanceOut]


class LedgerAccountsOut(BaseModel):
    """The chart of accounts with balances over entries dated on or before `as_of`."""

    as_of: date
    data: list[LedgerAccountOut]


def ledger_accounts_out(as_of: date, balances: dict[str, TrialBalance]) -> LedgerAccountsOut:
    """The chart in number order, each account's balance in every currency."""
    return LedgerAccountsOut(
        as_of=as_of,
        data=[
            LedgerAccountOut(
                number=account.value,
                name=account.label,
                normal_balance="debit" if account.debit_normal else "credit",
                balances=[
                    CurrencyBalanceOut(
                        currency=currency,
                        debit=trial.row(account).debit,
                        credit=trial.row(account).credit,
                        balance=trial.row(account).balance,
                    )
                    for currency, trial in balances.items()
                ],
            )
            for account in LedgerAccount
        ],
    )


class TrialBalanceRowOut(BaseModel):
    """One ledger account's debit and credit totals."""

    ledger_account: str
    name: str
    debit: int
    credit: int


class TrialBalanceOut(BaseModel):
    """Every account of the chart in one currency; total debits equal total credits."""

    currency: str
    rows: list[TrialBalanceRowOut]
    total_debit: int
    total_credit: int


class TrialBalanceReportOut(BaseModel):
    """The trial balance as of a date, per currency (no FX)."""

    as_of: date
    currencies: list[TrialBalanceOut]


def trial_balance_out(as_of: date, balances: dict[str, TrialBalance]) -> TrialBalanceReportOut:
    """The domain's trial balances on the wire."""
    return TrialBalanceReportOut(
        as_of=as_of,
        currencies=[
            TrialBalanceOut(
                currency=currency,
                rows=[
                    TrialBalanceRowOut(
                        ledger_account=row.account.value,
                        name=row.account.label,
                        debit=row.debit,
                        credit=row.credit,
                    )
                    for row in trial.rows
                ],
                total_debit=trial.total_debit,
                total_credit=trial.total_credit,
            )
            for currency, trial in balances.items()
        ],
    )
