"""The finance dashboard (`GET /dashboard`) over HTTP at 1,000 and 10,000 accounts.

For each backend and size a fresh ledger database is seeded with
bench/ledger_seed.py's books (10 invoices an account, as `ledger_reports`), and
the page's metrics History is a synthetic one of the same accounts
(`metrics_history`: two recurring lines each, starting in 2025, a quantity
change, one account in ten terminated), folded once and given through the
page's dependency `snapshot_source` in place of the metrics read model's kept
fold (loading the read model's rows is not timed here; bench/metrics is). The
ledger runs in
process (`serve_in_process`, the clock at `TODAY`, the recognition timer off),
signed in by the dashboard's cookie; the page (USD as of `TODAY`) and the aging
CSV of the page are requested once untimed, then `REQUESTS` times, one client:
request sent -> whole body read. Also timed apart: the page model alone
(History fold, `metrics_view`, HTML) in process, the same number of times.

`python -m bench.dashboard_page [--sizes 10000] [--backends sqlite]` runs it
alone; under `python -m bench` the sizes come from `BENCH_DASHBOARD_SIZES`
(invoices) and the backends from `BENCH_DASHBOARD_BACKENDS` (default sqlite).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from revline_testkit.broker import TansuBroker

from bench.common import Backend, Sizing, distribution_ms, per_backend_and_size, timed_gets
from bench.ledger_seed import TODAY, account_id, accounts_for, currency_of, seed

NAME = "dashboard_page"
# Invoices: 1,000 and 10,000 accounts.
SIZING = Sizing("DASHBOARD", full=(10_000, 100_000), quick=(10_000,), backends="sqlite")
REQUESTS = 7
QUICK_REQUESTS = 3
KEY = "bench-finance"
RECORDED = datetime(2025, 1, 1, tzinfo=UTC)


def metrics_history(accounts: int) -> Any:
    """A History of `accounts` accounts: a monthly seat line and a yearly plan line each,
    starting in one of the months of 2025, seats changed in March 2026, every tenth
    account terminated at the end of June 2026; in the account's ledger currency."""
    from ledger.metrics.history import ContractEnded, History, LineStarted, QuantityChanged

    facts: list[Any] = []
    for k in range(accounts):
        account, currency, contract = account_id(k), currency_of(k), f"ct-{k:06d}"
        start = date(2025, 1 + k % 12, 1 + k % 28)
        end = start + timedelta(days=729)
        facts += [
            LineStarted(RECORDED, f"{contract}-seat", account, currency, contract, "month",
                        5000, 1 + k % 20, start, end),
            LineStarted(RECORDED, f"{contract}-plan", account, currency, contract, "year",
                        120000, 1, start, end),
            QuantityChanged(RECORDED, f"{contract}-seat", date(2026, 3, 1), 1 + k % 7),
        ]  # fmt: skip
        if k % 10 == 3:
            facts.append(ContractEnded(RECORDED, contract, date(2026, 6, 30)))
    return History(tuple(facts))


async def _time(client: Any, path: str, params: dict[str, str], requests: int) -> dict[str, Any]:
    return await timed_gets(path, lambda _: client.get(path, params=params), requests)


class GrowingFold:
    """The History in a Folding, as the read model keeps it; `one_more()` adds a new
    account's contract line (USD, recorded after the others) and folds it in."""

    def __init__(self, history: Any) -> None:
        from ledger.metrics.history import Folding

        self.folding = Folding()
        self.folding.add(((n,), fact) for n, fact in enumerate(history.facts))
        self.added = len(history.facts)
        self.snapshot = self.folding.snapshot()

    def one_more(self) -> Any:
        from ledger.metrics.history import LineStarted

        n = self.added
        line = LineStarted(RECORDED + timedelta(days=700), f"new-{n}", f"acct-new-{n}", "USD",
                           f"ct-new-{n}", "month", 7000, 3, date(2025, 5, 1),
                           date(2026, 12, 31))  # fmt: skip
        self.folding.add([((n,), line)])
        self.added += 1
        self.snapshot = self.folding.snapshot()
        return self.snapshot


def _page_model(history: Any, requests: int) -> dict[str, Any]:
    """The page without HTTP or database (the finance part empty), three ways: from the
    History (fold, figures, HTML: `page_model_only`), from the kept fold (its month
    ends kept with it: `page_model_kept`), and after one new contract added to the kept
    fold (`page_model_after_one_event`)."""
    from ledger.dashboard.render import dashboard_page
    from ledger.dashboard.view import AgingView, Dashboard, FinanceView, Receivables, metrics_view
    from ledger.domain.reports import AgingBucket

    empty = FinanceView("USD", TODAY, Receivables(0, 0),
                        AgingView(dict.fromkeys(AgingBucket, 0), 0, 0, ()), None, None)  # fmt: skip

    def page(snapshot: Any) -> Any:
        view = metrics_view(snapshot, "USD", TODAY)
        dashboard_page(Dashboard(TODAY, "USD", ("EUR", "USD"), view, empty))
        return view

    def timed(work: Any) -> float:
        started = time.perf_counter()
        work()
        return time.perf_counter() - started

    known = datetime(2026, 9, 30, 12, tzinfo=UTC)
    cold = [timed(lambda: page(history.as_known_at(known))) for _ in range(requests)]
    growing = GrowingFold(history)
    view = page(growing.snapshot)
    kept = [timed(lambda: page(growing.snapshot)) for _ in range(requests)]
    after = [timed(lambda: page(growing.one_more())) for _ in range(requests)]
    return {
        "page_model_only": {"p50_ms": distribution_ms(cold)["p50_ms"], "mrr_usd": view.now.mrr},
        "page_model_kept": {"p50_ms": distribution_ms(kept)["p50_ms"]},
        "page_model_after_one_event": {"p50_ms": distribution_ms(after)["p50_ms"]},
    }


async def _one(backend: Backend, broker: TansuBroker, invoices: int, requests: int) -> Any:
    import httpx
    from ledger.dashboard.routes import COOKIE, snapshot_source
    from ledger.main import SPEC, app_factory
    from ledger.settings import LedgerSettings
    from revline_events.clock import FixedClock
    from revline_events.database import Database
    from revline_service.migrations import upgrade
    from revline_testkit.live import serve_in_process

    url = backend.new_url(f"dashboard_{invoices}_{uuid.uuid4().hex[:6]}")
    await upgrade(SPEC.alembic_dir, url)
    db = Database(url)
    try:
        seeded = await seed(db, invoices)
    finally:
        await db.dispose()
    history = metrics_history(accounts_for(invoices))
    # Folded once and kept open, as the read model's kept histories keep it between
    # requests; while `growing`, each page first adds a new contract to it.
    kept = GrowingFold(history)
    growing = False

    async def source() -> Any:
        async def folded(session: Any, known_at: datetime) -> Any:
            return kept.one_more() if growing else kept.snapshot

        return folded

    settings = LedgerSettings(
        database_url=url, kafka_bootstrap=broker.bootstrap, api_keys=f"{KEY}:finance",
        consumer_group=f"bench-dashboard-{uuid.uuid4().hex[:6]}",
        consumer_session_timeout_ms=2000, migrate_on_start=False, log_level="WARNING",
        recognition_interval_s=0,
    )  # fmt: skip
    clock = FixedClock(datetime(TODAY.year, TODAY.month, TODAY.day, 12, 0, tzinfo=UTC))
    app = app_factory(settings, clock=clock)
    app.dependency_overrides[snapshot_source] = source
    params = {"as_of": str(TODAY), "currency": "USD"}
    async with (
        serve_in_process(app) as live,
        httpx.AsyncClient(base_url=live.base_url, cookies={COOKIE: KEY}, timeout=120.0) as client,
    ):
        page = await _time(client, "/dashboard", params, requests)
        aging_csv = await _time(client, "/dashboard/csv/ar-aging", params, requests)
        growing = True
        after_one_event = await _time(client, "/dashboard", params, requests)
    return {
        "accounts": accounts_for(invoices),
        "seed": seeded,
        "page": page,
        "page_after_one_event": after_one_event,
        "ar_aging_csv": aging_csv,
        **_page_model(history, requests),
    }


def run(quick: bool) -> dict[str, Any]:
    """Every size on every backend; the figures for results.json."""
    sizes = SIZING.sizes(quick)
    requests = QUICK_REQUESTS if quick else REQUESTS
    figures = per_backend_and_size(
        SIZING.backend_names(),
        sizes,
        "invoices",
        lambda backend, broker, n: _one(backend, broker, n, requests),
    )
    return {
        "sizes_invoices": sizes,
        "requests": requests,
        "as_of": str(TODAY),
        **asyncio.run(figures),
    }


def summary(figures: dict[str, Any]) -> list[str]:
    """One line per backend and size: the page's, the CSV's and the page model's medians."""
    lines = []
    for backend in ("sqlite", "postgresql"):
        for size, f in (figures.get(backend) or {}).items():
            lines.append(
                f"{backend:10} {f['accounts']:>6} accounts: page p50 {f['page']['p50_ms']} ms "
                f"({f['page']['response_bytes']} bytes), after one new contract "
                f"{f['page_after_one_event']['p50_ms']} ms, aging CSV p50 "
                f"{f['ar_aging_csv']['p50_ms']} ms, page model from the History "
                f"{f['page_model_only']['p50_ms']} ms, kept "
                f"{f['page_model_kept']['p50_ms']} ms, after one new contract "
                f"{f['page_model_after_one_event']['p50_ms']} ms  [{size}]"
            )
    for backend, reason in (figures.get("skipped") or {}).items():
        lines.append(f"{backend}: skipped ({reason})")
    return lines


def main() -> None:
    """Run alone: `python -m bench.dashboard_page --sizes 100000 --backends sqlite`."""
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard_page")
    args = SIZING.command_line(parser, "invoices")
    print(json.dumps(run(args.quick), indent=2))


if __name__ == "__main__":
    main()
