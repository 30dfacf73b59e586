"""Ledger reports over HTTP at 1,000, 10,000 and 100,000 invoices, SQLite and PostgreSQL.

For each backend and size a fresh ledger database (its own alembic
migrations) is seeded with the synthetic books of bench/ledger_seed.py
(through the ledger's projector, in batches; the domain folds 120 books and
the other accounts copy them with their own ids). The ledger then runs in
process (`serve_in_process(app_factory(...))`, its consumer on an empty
`billing.events` of a Tansu broker, the clock at `TODAY`, its recognition timer
off: the seed recognised through `TODAY`), and each report is
requested once untimed (a warm-up), then `REQUESTS` times (`--quick`:
`QUICK_REQUESTS`), one after the other, one client: request sent -> whole
body read. Before timing, the trial balance must balance and the tie-out show
no difference in every currency, else the run fails.

Reports: trial balance, AR aging (JSON and CSV), revenue by service month over
21 months, tie-out (all as of TODAY, over every account); receivables and
statement of one account (a different account each request); a page of 100
journal entries of one month.

`python -m bench.ledger_reports [--sizes 1000,100000] [--backends sqlite]`
runs it alone; under `python -m bench` the sizes come from
`BENCH_LEDGER_REPORTS_SIZES` and the backends from
`BENCH_LEDGER_REPORTS_BACKENDS`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from revline_testkit.broker import TansuBroker

from bench.common import Backend, Sizing, per_backend_and_size, ratio, timed_gets
from bench.ledger_seed import TODAY, account_id, accounts_for, seed

NAME = "ledger_reports"
SIZING = Sizing("LEDGER_REPORTS", full=(1_000, 10_000, 100_000), quick=(1_000, 10_000))
REQUESTS = 9
QUICK_REQUESTS = 5
FINANCE = {"Authorization": "Bearer bench-finance"}
CSV = {**FINANCE, "Accept": "text/csv"}
FROM = "2025-01-01"

# name -> (request number, accounts) -> (path, query, headers)
Request = Callable[[int, int], tuple[str, dict[str, str], dict[str, str]]]


def _any_account(n: int, accounts: int) -> str:
    """A different account for each request, spread over the data set."""
    return account_id((n * 7919 + accounts // 2) % accounts)


REPORTS: dict[str, Request] = {
    "trial_balance": lambda n, a: (
        "/v1/reports/trial-balance", {"as_of": str(TODAY)}, FINANCE),
    "ar_aging": lambda n, a: ("/v1/reports/ar-aging", {"as_of": str(TODAY)}, FINANCE),
    "ar_aging_csv": lambda n, a: ("/v1/reports/ar-aging", {"as_of": str(TODAY)}, CSV),
    "revenue": lambda n, a: (
        "/v1/reports/revenue", {"from": FROM, "to": str(TODAY)}, FINANCE),
    "tie_out": lambda n, a: ("/v1/reports/tie-out", {"as_of": str(TODAY)}, FINANCE),
    "receivables_one_account": lambda n, a: (
        f"/v1/receivables/{_any_account(n, a)}", {"as_of": str(TODAY)}, FINANCE),
    "statement_one_account": lambda n, a: (
        f"/v1/accounts/{_any_account(n, a)}/statement", {"from": FROM, "to": str(TODAY)},
        FINANCE),
    "journal_entries_page": lambda n, a: (
        "/v1/journal-entries", {"from": "2026-03-01", "to": "2026-03-31", "limit": "100"},
        FINANCE),
}  # fmt: skip


def _check(trial: dict[str, Any], tie_out: dict[str, Any]) -> None:
    """The books hold together: debits equal credits, the sub-ledger ties to the ledger."""
    for currency in trial["currencies"]:
        debits = sum(r["debit"] for r in currency["rows"])
        credits = sum(r["credit"] for r in currency["rows"])
        if debits != credits or not debits:
            raise RuntimeError(f"trial balance {currency['currency']}: {debits} != {credits}")
    for currency in tie_out["currencies"]:
        differences = {k: v for k, v in currency.items() if "difference" in k and v}
        if differences:
            raise RuntimeError(f"tie-out {currency['currency']}: {differences}")


async def _time_reports(client: Any, accounts: int, requests: int) -> dict[str, Any]:
    """Each report once untimed, then `requests` times; its times and response size."""
    figures: dict[str, Any] = {}
    for name, request in REPORTS.items():

        def get(n: int, request: Any = request) -> Awaitable[Any]:
            path, params, headers = request(n, accounts)
            return client.get(path, params=params, headers=headers)

        figures[name] = await timed_gets(name, get, requests)
    return figures


async def _one(backend: Backend, broker: TansuBroker, invoices: int, requests: int) -> Any:
    from ledger.main import SPEC, app_factory
    from ledger.settings import LedgerSettings
    from revline_events.clock import FixedClock
    from revline_events.database import Database
    from revline_service.migrations import upgrade
    from revline_testkit.live import serve_in_process

    url = backend.new_url(f"ledger_reports_{invoices}_{uuid.uuid4().hex[:6]}")
    await upgrade(SPEC.alembic_dir, url)
    db = Database(url)
    try:
        seeded = await seed(db, invoices)
    finally:
        await db.dispose()
    settings = LedgerSettings(
        database_url=url, kafka_bootstrap=broker.bootstrap, api_keys="bench-finance:finance",
        consumer_group=f"bench-ledger-{uuid.uuid4().hex[:6]}", consumer_session_timeout_ms=2000,
        migrate_on_start=False, log_level="WARNING",
        # The seed recognised through TODAY; the timer's start-up run would post nothing
        # but refold all 10,000 books while the reports are timed (bench/README.md).
        recognition_interval_s=0,
    )  # fmt: skip
    clock = FixedClock(datetime(TODAY.year, TODAY.month, TODAY.day, 12, 0, tzinfo=UTC))
    async with serve_in_process(app_factory(settings, clock=clock)) as live:
        client = live.client
        as_of = {"as_of": str(TODAY)}
        trial = await client.get("/v1/reports/trial-balance", params=as_of, headers=FINANCE)
        tie_out = await client.get("/v1/reports/tie-out", params=as_of, headers=FINANCE)
        _check(trial.json(), tie_out.json())
        reports = await _time_reports(client, accounts_for(invoices), requests)
    return {"seed": seeded, "reports": reports}


def _growth(by_size: dict[str, Any]) -> dict[str, Any]:
    """Per report: p50 at the largest size / p50 at the one 10x smaller (the data grew 10x)."""
    sizes = sorted(int(s.split("_")[1]) for s in by_size)
    found: dict[str, Any] = {}
    for small, large in itertools.pairwise(sizes):
        if large != 10 * small:
            continue
        low, high = by_size[f"invoices_{small}"], by_size[f"invoices_{large}"]
        found[f"p50_{large}_vs_{small}_ratio"] = {
            name: ratio(high["reports"][name]["p50_ms"], low["reports"][name]["p50_ms"])
            for name in REPORTS
        }
    return found


def run(quick: bool) -> dict[str, Any]:
    """Every size on every backend; the figures for results.json."""
    sizes = SIZING.sizes(quick)
    requests = QUICK_REQUESTS if quick else REQUESTS
    figures = per_backend_and_size(
        SIZING.backend_names(),
        sizes,
        "invoices",
        lambda backend, broker, n: _one(backend, broker, n, requests),
        _growth,
    )
    return {
        "sizes_invoices": sizes,
        "requests_per_report": requests,
        "as_of": str(TODAY),
        **asyncio.run(figures),
    }


def summary(figures: dict[str, Any]) -> list[str]:
    """One line per backend and size: each report's median."""
    lines = []
    for backend in ("sqlite", "postgresql"):
        for size, f in (figures.get(backend) or {}).items():
            if not size.startswith("invoices_"):
                continue
            medians = "  ".join(f"{n} {r['p50_ms']}" for n, r in f["reports"].items())
            lines.append(f"{backend:10} {size:16} p50 ms: {medians}")
    for backend, reason in (figures.get("skipped") or {}).items():
        lines.append(f"{backend}: skipped ({reason})")
    return lines


def main() -> None:
    """Run alone: `python -m bench.ledger_reports --sizes 100000 --backends sqlite`."""
    parser = argparse.ArgumentParser(prog="python -m bench.ledger_reports")
    args = SIZING.command_line(parser, "invoices")
    print(json.dumps(run(args.quick), indent=2))


if __name__ == "__main__":
    main()
