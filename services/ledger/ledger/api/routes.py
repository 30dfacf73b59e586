"""Routers of the ledger API: thin, each a read of the journal projection."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from revline_service.auth import Principal, Role, require
from revline_service.fields import CalendarDate
from revline_service.pagination import Page, PageRequest, page_of, page_request
from revline_service.service import RuntimeDep

from ledger.api.schemas import (
    JournalEntryOut,
    LedgerAccountsOut,
    TrialBalanceReportOut,
    journal_entry_out,
    ledger_accounts_out,
    trial_balance_out,
)
from ledger.domain.accounts import CHART, LedgerAccount
from ledger.domain.reports import TrialBalance, TrialBalanceRow
from ledger.store.journal import AccountTotals, Journal

router = APIRouter(prefix="/v1", tags=["ledger"])

# Finance reads everything (admin too); other roles get a 403.
Reader = Annotated[Principal, Depends(require(Role.FINANCE))]
Paging = Annotated[PageRequest, Depends(page_request)]
AccountId = Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


def _as_of(runtime: RuntimeDep, as_of: date | None) -> date:
    """`as_of`, default today by the service's clock."""
    return as_of if as_of is not None else runtime.clock.today()


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


@router.get("/journal-entries", response_model=Page[JournalEntryOut])
async def list_journal_entries(
    runtime: RuntimeDep,
    _: Reader,
    paging: Paging,
    account_id: AccountId | None = None,
    date_from: Annotated[CalendarDate | None, Query(alias="from")] = None,
    date_to: Annotated[CalendarDate | None, Query(alias="to")] = None,
) -> Page[JournalEntryOut]:
    """Journal entries in posting order (by date), each with its lines and the event that
    caused it; optionally of one customer account, dated from/to (inclusive)."""
    async with runtime.db.session() as session:
        rows = await Journal(session).page(
            account_id=account_id,
            date_from=date_from,
            date_to=date_to,
            after=paging.after,
            limit=paging.limit,
        )
    return page_of(
        [journal_entry_out(r) for r in rows],
        paging,
        lambda e: [e.entry_date.isoformat(), e.id],
    )


@router.get("/ledger-accounts", response_model=LedgerAccountsOut)
async def list_ledger_accounts(
    runtime: RuntimeDep,
    _: Reader,
    as_of: Annotated[CalendarDate | None, Query()] = None,
) -> LedgerAccountsOut:
    """The chart of accounts, each with its balance per currency over entries dated on or
    before `as_of` (default: today by the service's clock)."""
    day = _as_of(runtime, as_of)
    async with runtime.db.session() as session:
        totals = await Journal(session).totals(day)
    return ledger_accounts_out(day, trial_balances(day, totals))


@router.get("/reports/trial-balance", response_model=TrialBalanceReportOut)
async def trial_balance(
    runtime: RuntimeDep,
    _: Reader,
    as_of: Annotated[CalendarDate | None, Query()] = None,
) -> TrialBalanceReportOut:
    """Every ledger account's debit and credit totals per currency as of a date; in each
    currency total debits equal total credits."""
    day = _as_of(runtime, as_of)
    async with runtime.db.session() as session:
        totals = await Journal(session).totals(day)
    return trial_balance_out(day, trial_balances(day, totals))
