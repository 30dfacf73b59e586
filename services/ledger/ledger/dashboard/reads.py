"""The dashboard's reads: the finance reports' SQL aggregates (the same queries as the
report endpoints) and the metrics snapshot of the metrics read model.

`dashboard_snapshot` is the one place the page gets its metrics from: the read
model's History (fed by quote.events and contract.events) folded as known at a
time, kept between requests while the read model is unchanged
(`store/metrics.py: KEPT_HISTORIES`, as the /v1/metrics endpoints read it). The
routes reach it through the dependency `routes.snapshot_source`, which the
benchmark replaces with a synthetic one.
"""

from __future__ import annotations

from datetime import date, datetime

from revline_pricing import add_months
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.dashboard.view import FinanceView, Receivables, aging_view
from ledger.domain.recognition import month_start
from ledger.domain.reports import RevenueReport, TrialBalance
from ledger.metrics.history import Snapshot
from ledger.reporting import revenue_reports, trial_balances
from ledger.store.journal import Journal
from ledger.store.metrics import KEPT_HISTORIES
from ledger.store.receivables import Receivables as ReceivablesStore

MONTHS = 12


async def dashboard_snapshot(session: AsyncSession, known_at: datetime) -> Snapshot:
    """Every currency's metrics facts (the currency switch lists them) folded as known at
    `known_at`, from the metrics read model."""
    _, snapshot = await KEPT_HISTORIES.snapshot(session, known_at)
    return snapshot


async def ledger_currencies(session: AsyncSession, as_of: date) -> set[str]:
    """The currencies with journal entries dated on or before `as_of`."""
    return {t.currency for t in await Journal(session).totals(as_of)}


async def trial_balance(session: AsyncSession, currency: str, as_of: date) -> TrialBalance | None:
    """The trial balance of `currency` as of `as_of` (None without entries in it)."""
    return trial_balances(as_of, await Journal(session).totals(as_of)).get(currency)


async def revenue(session: AsyncSession, currency: str, as_of: date) -> RevenueReport | None:
    """Revenue of `currency` by service month over the 12 months ending with `as_of`'s month,
    as of `as_of`, with the deferred revenue then (None without any)."""
    journal = Journal(session)
    first = add_months(month_start(as_of), -(MONTHS - 1))
    earned = await journal.revenue(first, as_of)
    reports = revenue_reports(first, as_of, earned, await journal.totals(as_of))
    return next((r for r in reports if r.currency == currency), None)


async def finance_view(session: AsyncSession, currency: str, as_of: date) -> FinanceView:
    """The ledger's reports of `currency` as of `as_of`: receivables, AR aging, trial balance,
    and revenue by service month over the 12 months ending with `as_of`'s month."""
    store = ReceivablesStore(session)
    moves = await store.subledger_totals(as_of)
    return FinanceView(
        currency,
        as_of,
        Receivables(moves.get((currency, "invoice"), 0), moves.get((currency, "credit_lot"), 0)),
        aging_view(await store.aging(as_of), currency),
        await trial_balance(session, currency, as_of),
        await revenue(session, currency, as_of),
    )
