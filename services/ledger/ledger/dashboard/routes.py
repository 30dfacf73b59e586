"""`/dashboard`: the finance dashboard page, its sign-in and sign-out, its CSV downloads.

The key never travels in a URL: the sign-in form POSTs it, the service checks it
and keeps it in a cookie (HttpOnly: no script reads it; SameSite=Strict: no other
site's page sends it; Path=/dashboard; Secure when served over https), and every
read of the page checks it again with the role it has now. `finance` and `admin`
read the page; a key of another role gets a 403 page. The pages are HTML, not part
of the API contract (left out of the OpenAPI document); bad query parameters are
still a problem+json 422.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BeforeValidator, StringConstraints
from revline_events.collector import collector_paused
from revline_service.auth import UNAUTHORIZED_HEADERS, KeyRing, Principal, Role
from revline_service.fields import CalendarDate
from revline_service.problems import Problem
from revline_service.service import Runtime, RuntimeDep
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.api.csv_export import csv_response
from ledger.api.report_csv import (
    AGING_HEADER,
    REVENUE_HEADER,
    TRIAL_BALANCE_HEADER,
    Row,
    aging_pages,
    csv_pages,
    revenue_lines,
    trial_balance_lines,
)
from ledger.dashboard import reads, tables
from ledger.dashboard.reads import dashboard_snapshot, finance_view, ledger_currencies
from ledger.dashboard.render import (
    CONTENT_SECURITY_POLICY,
    dashboard_page,
    login_page,
    refused_page,
)
from ledger.dashboard.view import Dashboard, FinanceView, end_of, metrics_view
from ledger.metrics.history import Snapshot

router = APIRouter(prefix="/dashboard", tags=["dashboard"], include_in_schema=False)

COOKIE = "revline_dashboard_key"
READERS = frozenset({Role.FINANCE, Role.ADMIN})
FALLBACK_CURRENCY = "USD"  # shown when nothing is booked in any currency yet
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

# (session, known_at) -> the metrics as known then (reads.dashboard_snapshot).
SnapshotSource = Callable[[AsyncSession, datetime], Awaitable[Snapshot]]


def _blank_is_none(value: object) -> object:
    return None if value == "" else value


# A GET form sends an emptied field as `name=`: that is "not given", not a bad value.
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Currency = Annotated[CurrencyCode | None, BeforeValidator(_blank_is_none), Query()]
Day = Annotated[CalendarDate | None, BeforeValidator(_blank_is_none), Query()]


async def snapshot_source() -> SnapshotSource:
    """How the page gets its metrics (a dependency, so the benchmark can give its own);
    called only once the key is checked."""
    return dashboard_snapshot


Source = Annotated[SnapshotSource, Depends(snapshot_source)]


class Table(StrEnum):
    """The tables of the page with a CSV download."""

    MRR = "mrr"
    MOVEMENTS = "movements"
    CHURN = "churn"
    RETENTION = "retention"
    AR_AGING = "ar-aging"
    TRIAL_BALANCE = "trial-balance"
    REVENUE = "revenue"


# The ledger's reports, as against the metrics tables.
FINANCE_TABLES = frozenset({Table.AR_AGING, Table.TRIAL_BALANCE, Table.REVENUE})


def _page(html: str, status: int = 200, **headers: str) -> HTMLResponse:
    return HTMLResponse(html, status_code=status, headers={**PAGE_HEADERS, **headers})


def _signed_in(request: Request) -> Principal | None:
    """The principal of the key in the cookie, None without one or for an unknown key."""
    presented = request.cookies.get(COOKIE)
    if not presented:
        return None
    ring: KeyRing = request.app.state.keyring
    return ring.identify(presented)


async def build_dashboard(
    runtime: Runtime,
    source: SnapshotSource,
    as_of: date | None,
    currency: str | None,
    known_on: date | None = None,
) -> Dashboard:
    """The page's figures: `as_of` by default today by the service's clock, the metrics as
    known at the end of `known_on` (by default now by that clock), `currency` by default
    the first known.

    The read model's fold is kept between requests while it is unchanged
    (reads.dashboard_snapshot); the figures from it are CPU work that grows with the
    lines (1.6 s at 10,000 accounts, bench/README.md): they run in a worker thread, so
    the event loop goes on serving requests and the consumer meanwhile, and beside the
    ledger's report queries. The cyclic collector is paused meanwhile
    (revline_events.collector)."""
    day = as_of if as_of is not None else runtime.clock.today()
    known_at = end_of(known_on) if known_on is not None else runtime.clock.now()
    with collector_paused():
        async with runtime.db.session() as session:
            snapshot = await source(session, known_at)
            booked = await ledger_currencies(session, day)
        known = set(snapshot.currencies()) | booked
        chosen = currency or (min(known) if known else FALLBACK_CURRENCY)

        async def finance() -> FinanceView:
            async with runtime.db.session() as session:
                return await finance_view(session, chosen, day)

        metrics, reports = await asyncio.gather(
            asyncio.to_thread(metrics_view, snapshot, chosen, day), finance()
        )
    currencies = tuple(sorted(known | {chosen}))
    return Dashboard(day, chosen, currencies, metrics, reports, known_on)


@router.get("", response_class=HTMLResponse)
async def dashboard(
    request: Request,
    runtime: RuntimeDep,
    source: Source,
    as_of: Day = None,
    currency: Currency = None,
    known_on: Day = None,
) -> Response:
    """The dashboard of one currency as of a date (the metrics as known on `known_on`, by
    default now); the sign-in form without a valid key in
    the cookie, a 403 page for a key of another role."""
    principal = _signed_in(request)
    if principal is None:
        stale = "That key is no longer valid." if COOKIE in request.cookies else None
        form = _page(login_page(stale, _view(as_of, currency, known_on)))
        if COOKIE in request.cookies:
            form.delete_cookie(COOKIE, path="/dashboard")
        return form
    if principal.role not in READERS:
        return _page(refused_page(principal.role.value), 403)
    page = await build_dashboard(runtime, source, as_of, currency, known_on)
    return _page(dashboard_page(page))


def _view(as_of: date | None, currency: str | None, known_on: date | None) -> dict[str, str]:
    """The page's parameters worth keeping across the sign-in."""
    kept = {"as_of": as_of.isoformat()} if as_of else {}
    kept = {**kept, "currency": currency} if currency else kept
    return {**kept, "known_on": known_on.isoformat()} if known_on else kept


def _date_or_none(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _currency_or_none(text: str | None) -> str | None:
    return text if text and re.fullmatch(r"[A-Z]{3}", text) else None


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    """Check the key the form POSTs (`key`, form-encoded): a reader's goes into the cookie
    and the browser back to the page (303, with the form's `as_of` and `currency` when
    they are a date and a currency code); an unknown key is a 401 and a key of another
    role a 403, each a page, and neither sets the cookie."""
    fields = {
        k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()
    }
    presented = fields.get("key", "").strip()
    keep = _view(
        _date_or_none(fields.get("as_of")),
        _currency_or_none(fields.get("currency")),
        _date_or_none(fields.get("known_on")),
    )
    if not presented:
        return _page(login_page("Enter an API key.", keep), 422)
    ring: KeyRing = request.app.state.keyring
    principal = ring.identify(presented)
    if principal is None:
        return _page(login_page("Unknown key.", keep), 401, **UNAUTHORIZED_HEADERS)
    if principal.role not in READERS:
        return _page(refused_page(principal.role.value), 403)
    # Back to the page asked for: only a checked date and currency go into the URL.
    back = RedirectResponse(f"/dashboard?{urlencode(keep)}" if keep else "/dashboard", 303)
    back.set_cookie(
        COOKIE,
        presented,
        path="/dashboard",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return back


@router.post("/logout")
async def logout() -> Response:
    """Forget the key: the cookie is cleared and the browser sent to the sign-in form."""
    back = RedirectResponse("/dashboard", status_code=303)
    back.delete_cookie(COOKIE, path="/dashboard", httponly=True, samesite="strict")
    return back


async def _of_currency(
    pages: AsyncIterator[list[Row]], currency: str, column: int
) -> AsyncIterator[list[Row]]:
    async for page in pages:
        if mine := [row for row in page if row[column] == currency]:
            yield mine


@router.get("/csv/{table}")
async def table_csv(
    table: Table,
    request: Request,
    runtime: RuntimeDep,
    source: Source,
    as_of: Day = None,
    currency: Currency = None,
    known_on: Day = None,
) -> Response:
    """A table of the page as CSV, with the page's date and currency: for AR aging every
    account (the page shows the top ones), streamed. The key comes from the cookie: 401
    without one, 403 for another role."""
    principal = _signed_in(request)
    if principal is None:
        raise Problem(401, "Unauthorized", "sign in at /dashboard first",
                      headers=UNAUTHORIZED_HEADERS)  # fmt: skip
    if principal.role not in READERS:
        raise Problem(403, "Forbidden", f"role {principal.role.value} may not read the dashboard")
    day = as_of if as_of is not None else runtime.clock.today()
    if table in FINANCE_TABLES and currency is not None:
        # The ledger's reports need neither the metrics nor every other figure of the page.
        name = f"{table.value}-{currency}-{day}"
        if table is Table.AR_AGING:
            pages = _of_currency(aging_pages(runtime, day), currency, 1)
            return csv_pages(name, AGING_HEADER, pages)
        async with runtime.db.session() as session:
            if table is Table.TRIAL_BALANCE:
                balance = await reads.trial_balance(session, currency, day)
                lines = trial_balance_lines([balance] if balance else [])
                return csv_response(name, TRIAL_BALANCE_HEADER, lines)
            report = await reads.revenue(session, currency, day)
            return csv_response(name, REVENUE_HEADER, revenue_lines([report] if report else []))
    page = await build_dashboard(runtime, source, day, currency, known_on)
    if table in FINANCE_TABLES:  # no currency asked: the page's default, then as above
        return await table_csv(table, request, runtime, source, day, page.currency)
    found: dict[Table, tuple[tuple[str, ...], Iterable[Row]]] = {
        Table.MRR: (tables.MRR_HEADER, tables.mrr_rows(page.metrics)),
        Table.MOVEMENTS: (tables.MOVEMENTS_HEADER, tables.movement_rows(page.metrics)),
        Table.CHURN: (tables.CHURN_HEADER, tables.churn_rows(page.metrics)),
        Table.RETENTION: (tables.RETENTION_HEADER, tables.retention_rows(page.metrics)),
    }
    header, rows = found[table]
    return csv_response(f"{table.value}-{page.currency}-{page.as_of}", header, rows)
