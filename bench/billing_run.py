"""Bill-run throughput: invoices per second for 1,000 to 100,000 subscriptions.

For each backend (SQLite file, throwaway PostgreSQL) and size (subscriptions,
two per account, so one invoice per two subscriptions) a fresh billing
database is migrated with billing's own alembic migrations and seeded through
billing's own consumer path, untimed: each account's `OrderActivated` (two
monthly SEAT subscriptions, billed in advance from 2026-01-01) goes through
the service's `OrderActivated` batch handler inside `Runtime.uow()` with its
inbox rows, exactly what the consumer does with a fetched run of them, minus
Kafka; 500 orders per transaction.

The timed phase runs in a fresh child process (so its peak memory is the bill
run's own): what `POST /v1/bill-runs {"as_of": "2026-01-01"}` does without
HTTP: `start_bill_run` (one transaction), then `continue_bill_run` (one
transaction per batch, the service's default batch size), then the response
body (`queries.bill_run` + `bill_run_out`, every invoice id of the run).
Nothing publishes (no relay): the outbox fills and is left.

Beside it, on the same database in the same run: plain executemany inserts
of as many rows as the run made invoices, into a copy of the `invoices`
table without keys or indexes, in transactions of the same batch size. The
run/raw ratio is the figure to watch.

`python -m bench.billing_run [--sizes 1000,10000] [--backends sqlite,postgresql]
[--profile]` runs it alone and prints the figures (`--profile`: a cProfile of
the timed phase, top functions, instead); under `python -m bench` the sizes
come from `BENCH_BILLING_RUN_SIZES` and the backends from
`BENCH_BILLING_RUN_BACKENDS` (default: 1,000, 10,000, 100,000 on both).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import json
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench.common import Backend, Sizing, backends, rate, ratio

NAME = "billing_run"
SIZING = Sizing("BILLING_RUN", full=(1_000, 10_000, 100_000), quick=(200, 2_000))
SUBSCRIPTIONS_PER_ACCOUNT = 2
SEED_ORDERS_PER_TX = 500
SEED_WORKERS_POSTGRES = 4
AS_OF = date(2026, 1, 1)
YEAR_END = date(2026, 12, 31)
REPO = Path(__file__).resolve().parent.parent
# The timed child is abandoned after this long (a failure, not a figure).
CHILD_TIMEOUT_S = 3600.0


def _settings(url: str) -> Any:
    from billing.settings import BillingSettings

    # Nothing connects to the broker (no relay, no consumer is started).
    return BillingSettings(database_url=url, kafka_bootstrap="127.0.0.1:9", api_keys="k:admin")


def _runtime(url: str) -> Any:
    from billing.main import SPEC
    from revline_events.clock import FixedClock
    from revline_service.service import Runtime

    clock = FixedClock(datetime(2026, 1, 1, 6, 0, tzinfo=UTC))
    return Runtime(SPEC, _settings(url), clock)


# ---------------------------------------------------------------- seeding (untimed)


def _activated(account: str, n: int) -> Any:
    from revline_events.payloads.order import OrderActivated, OrderItem

    items = [
        OrderItem(
            subscription_id=f"{account}-sub{k}",
            sku=f"SEAT{k}",
            name=f"Seat {k}",
            charge_type="recurring",
            billing_period="month",
            quantity_delta=1 + n % 5,
            quantity=1 + n % 5,
            unit_price=1000 + 10 * k + n % 97,
            start_date=AS_OF,
            end_date=YEAR_END,
        )
        for k in range(SUBSCRIPTIONS_PER_ACCOUNT)
    ]
    return OrderActivated(
        order_id=f"{account}-ord", contract_id=f"{account}-ctr", account_id=account, kind="new",
        currency="USD", effective_date=AS_OF, bill_cycle_day=1, billing_timing="advance",
        contract_end_date=YEAR_END, credit_unused=False, items=items,
    )  # fmt: skip


async def _seed(url: str, subscriptions: int) -> dict[str, Any]:
    """Migrate, then schedule subscriptions / 2 accounts through the OrderActivated handler."""
    from revline_events.catalogue import CATALOGUE
    from revline_events.clock import FixedClock
    from revline_events.topics import events_topic
    from revline_service.migrations import upgrade
    from revline_testkit.publishing import upstream_event

    runtime = _runtime(url)
    await upgrade(runtime.spec.alembic_dir, url)
    upstream_clock = FixedClock(datetime(2025, 12, 20, 9, 0, tzinfo=UTC))
    handle = runtime.spec.reactions.batch_handlers(CATALOGUE)["OrderActivated"]
    topic = events_topic("order")
    accounts = subscriptions // SUBSCRIPTIONS_PER_ACCOUNT

    async def seed(chunks: list[range]) -> None:
        for chunk in chunks:
            items = []
            for n in chunk:
                account = f"acct-{n:07d}"
                event = _activated(account, n)
                envelope = upstream_event(
                    event, stream_id=event.order_id, stream_version=1, account_id=account,
                    producer="order", clock=upstream_clock, effective_date=AS_OF,
                )  # fmt: skip
                items.append((envelope, event))
            async with runtime.uow() as uow:
                await uow.mark_seen_many([envelope for envelope, _ in items], topic)
                await handle(uow, items)
                await uow.commit()

    chunks = [
        range(first, min(first + SEED_ORDERS_PER_TX, accounts))
        for first in range(0, accounts, SEED_ORDERS_PER_TX)
    ]
    # PostgreSQL: a few transactions at once (disjoint accounts); SQLite has one connection.
    workers = SEED_WORKERS_POSTGRES if runtime.db.is_postgres else 1
    started = time.perf_counter()
    try:
        await asyncio.gather(*(seed(chunks[w::workers]) for w in range(workers)))
        seed_s = round(time.perf_counter() - started, 1)
        if runtime.db.is_postgres:
            # Start from a steady state: statistics and visibility maps caught up with
            # the seed, rather than autovacuum deciding when (bench/README.md).
            async with runtime.db.engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.exec_driver_sql("VACUUM ANALYZE")
    finally:
        await runtime.db.dispose()
    return {"accounts": accounts, "seed_s": seed_s}


# ---------------------------------------------------------------- the timed run (child)


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    return 0


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) of this process (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def _peak_rss_bytes() -> int:
    """Peak resident set size since the last reset (else since the start: ru_maxrss)."""
    peak = _status_kib("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak * 1024


async def _timed_run(url: str) -> dict[str, Any]:
    """start_bill_run + continue_bill_run + the response body, as POST /v1/bill-runs."""
    from billing.api.schemas import bill_run_out
    from billing.handlers.bill_runs import continue_bill_run, start_bill_run
    from billing.store import queries
    from billing.store.tables import bill_run_batches, billing_accounts, invoices
    from sqlalchemy import func, select

    runtime = _runtime(url)
    settings = runtime.settings
    try:
        async with runtime.db.session() as session:  # connect and warm the pool
            due = (
                await session.execute(
                    select(func.count()).where(billing_accounts.c.next_bill_date <= AS_OF)
                )
            ).scalar_one()
        gc.collect()
        reset = _reset_peak_rss()
        rss_before = _status_kib("VmRSS") * 1024
        cpu0 = _cpu_s()
        t0 = time.perf_counter()
        async with runtime.uow() as uow:
            run_id = await start_bill_run(uow, AS_OF, None, batch_size=settings.bill_run_batch_size)
            await uow.commit()
        t1 = time.perf_counter()
        done = await continue_bill_run(
            runtime.uow, run_id, payment_terms_days=settings.payment_terms_days
        )
        t2 = time.perf_counter()
        cpu_run = _cpu_s() - cpu0
        peak_run = _peak_rss_bytes()
        async with runtime.db.session() as session:
            row = await queries.bill_run(session, run_id)
        assert row is not None
        body = bill_run_out(row).model_dump_json()
        t3 = time.perf_counter()
        peak_response = _peak_rss_bytes()
        async with runtime.db.session() as session:
            batches = (
                await session.execute(
                    select(func.count()).where(bill_run_batches.c.bill_run_id == run_id)
                )
            ).scalar_one()
            invoice_count = (
                await session.execute(select(func.count()).select_from(invoices))
            ).scalar_one()
    finally:
        await runtime.db.dispose()
    return {
        "completed": done and row["status"] == "completed",
        "due_accounts": due,
        "invoices": invoice_count,
        "run_invoice_count": row["invoice_count"],
        "batch_size": settings.bill_run_batch_size,
        "batches": batches,
        "start_s": t1 - t0,
        "continue_s": t2 - t1,
        "response_s": t3 - t2,
        "cpu_s": cpu_run,
        "response_bytes": len(body),
        "peak_rss_reset": reset,
        "rss_before_bytes": rss_before,
        "peak_rss_run_bytes": peak_run,
        "peak_rss_with_response_bytes": peak_response,
    }


def _child(url: str) -> dict[str, Any]:
    logging_off()
    return asyncio.run(_timed_run(url))


def logging_off() -> None:
    """The service's loggers stay quiet in the child (stdout carries the figures)."""
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)


def _run_child(url: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "bench.billing_run", "--child", url],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"bill-run child failed ({result.returncode}): {result.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


# ---------------------------------------------------------------- the raw baseline


async def _raw_inserts(url: str, rows: int, batch: int) -> float:
    """Rows per second: `rows` invoice-shaped rows, executemany, `batch` per transaction."""
    from billing.store.tables import invoices
    from revline_events.database import Database
    from sqlalchemy import Column, MetaData, Table, insert

    metadata = MetaData()
    raw = Table(
        "bench_raw_invoices",
        metadata,
        *[Column(c.name, c.type, nullable=c.nullable) for c in invoices.columns],
    )
    now = datetime.now(UTC)
    values = [
        {
            "id": f"inv_{uuid.uuid4().hex[:27]}",
            "number": f"INV-{n + 1:06d}",
            "bill_run_id": "br_0123456789abcdef0123456",
            "account_id": f"acct-{n:07d}",
            "currency": "USD",
            "invoice_date": AS_OF,
            "due_date": date(2026, 1, 31),
            "subtotal": 1000 + n,
            "total": 1000 + n,
            "deferred_total": 0,
            "one_time_total": 0,
            "amount_paid": 0,
            "amount_due": 1000 + n,
            "status": "posted",
            "voided_on": None,
            "void_reason": None,
            "created_at": now,
            "stream_version": 1,
        }
        for n in range(rows)
    ]
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        started = time.perf_counter()
        for first in range(0, rows, batch):
            async with db.session() as session, session.begin():
                await session.execute(insert(raw), values[first : first + batch])
        elapsed = time.perf_counter() - started
    finally:
        await db.dispose()
    return rate(rows, elapsed)


# ---------------------------------------------------------------- one size, all sizes


def _one(backend: Backend, subscriptions: int) -> dict[str, Any]:
    url = backend.new_url(f"billing_run_{subscriptions}_{uuid.uuid4().hex[:6]}")
    seeded = asyncio.run(_seed(url, subscriptions))
    child = _run_child(url)
    accounts = seeded["accounts"]
    if not child["completed"] or child["invoices"] != accounts:
        raise RuntimeError(f"{backend.name} {subscriptions}: run incomplete: {child}")
    raw = asyncio.run(_raw_inserts(url, child["invoices"], child["batch_size"]))
    seconds = child["start_s"] + child["continue_s"]
    invoices_per_s = rate(child["invoices"], seconds)
    return {
        "subscriptions": subscriptions,
        "accounts": accounts,
        "invoices": child["invoices"],
        "seed_s": seeded["seed_s"],
        "batch_size": child["batch_size"],
        "batches": child["batches"],
        "expected_batches": -(-accounts // child["batch_size"]),
        "run_s": round(seconds, 2),
        "start_s": round(child["start_s"], 3),
        "continue_s": round(child["continue_s"], 2),
        "invoices_per_s": invoices_per_s,
        "subscriptions_per_s": rate(subscriptions, seconds),
        "per_subscription_ms": round(seconds * 1000 / subscriptions, 3),
        "process_cpu_s": round(child["cpu_s"], 2),
        "process_cpu_ratio": ratio(child["cpu_s"], seconds),
        "process_cpu_per_invoice_ms": round(child["cpu_s"] * 1000 / child["invoices"], 3),
        "response_s": round(child["response_s"], 3),
        "response_bytes": child["response_bytes"],
        "rss_before_bytes": child["rss_before_bytes"],
        "peak_rss_delta_run_bytes": child["peak_rss_run_bytes"] - child["rss_before_bytes"],
        "peak_rss_delta_with_response_bytes": child["peak_rss_with_response_bytes"]
        - child["rss_before_bytes"],
        "peak_rss_measure": "VmHWM reset at the phase start"
        if child["peak_rss_reset"]
        else "ru_maxrss (not reset: includes start-up)",
        "raw_insert_rows_per_s": raw,
        "run_vs_raw_insert_ratio": ratio(invoices_per_s, raw),
    }


def _source_digest() -> str:
    """SHA-256 (first 16 hex) of billing's package source: which code the figures are of."""
    root = REPO / "services" / "billing" / "billing"
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _linearity(by_size: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per-subscription time of each size against the smallest: 1.0 everywhere is linear."""
    sizes = sorted(by_size.values(), key=lambda f: f["subscriptions"])
    if not sizes:
        return {}
    base = sizes[0]["per_subscription_ms"]
    return {f"subs_{f['subscriptions']}": ratio(f["per_subscription_ms"], base) for f in sizes}


def run(quick: bool) -> dict[str, Any]:
    """The benchmark's figures (starts and stops its own PostgreSQL)."""
    sizes = SIZING.sizes(quick)
    wanted = SIZING.backend_names()
    result: dict[str, Any] = {"sizes_subscriptions": sizes, "billing_source": _source_digest()}
    with backends(with_postgres="postgresql" in wanted) as (found, skipped):
        for backend in found:
            if backend.name not in wanted:
                continue
            by_size: dict[str, dict[str, Any]] = {}
            for subscriptions in sizes:
                print(f"  {backend.name} {subscriptions} subscriptions ...", flush=True)
                figures = _one(backend, subscriptions)
                by_size[f"subs_{subscriptions}"] = figures
                print(f"    {_line(backend.name, figures)}", flush=True)
            result[backend.name] = {
                **by_size,
                "per_subscription_time_vs_smallest_ratio": _linearity(by_size),
            }
    if _source_digest() != result["billing_source"]:
        result["billing_source_changed_during_run"] = True
    if skipped:
        result["skipped"] = skipped
    return result


def _line(name: str, f: dict[str, Any]) -> str:
    return (
        f"{name:<11}{f['subscriptions']:>8}{f['invoices']:>8}{f['run_s']:>9}"
        f"{f['invoices_per_s']:>10}{f['subscriptions_per_s']:>10}"
        f"{f['per_subscription_ms']:>9}{f['peak_rss_delta_run_bytes'] / 2**20:>9.1f}"
        f"{f['raw_insert_rows_per_s']:>10}{f['run_vs_raw_insert_ratio']:>8}"
        f"{f['batches']:>8}"
    )


def summary(result: dict[str, Any]) -> list[str]:
    """Readable lines for the console."""
    lines = [
        f"{'backend':<11}{'subs':>8}{'invoices':>8}{'run s':>9}{'inv/s':>10}{'subs/s':>10}"
        f"{'ms/sub':>9}{'RSS MiB':>9}{'raw r/s':>10}{'/raw':>8}{'batches':>8}"
    ]
    for name in ("sqlite", "postgresql"):
        figures = result.get(name)
        if not isinstance(figures, dict):
            continue
        for key, f in figures.items():
            if key.startswith("subs_"):
                lines.append(_line(name, f))
        lines.append(
            f"{name}: per-subscription time vs the smallest size: "
            f"{figures.get('per_subscription_time_vs_smallest_ratio')}"
        )
    for name, why in result.get("skipped", {}).items():
        lines.append(f"{name}: skipped ({why})")
    return lines


# ---------------------------------------------------------------- standalone


def _profile(backend: Backend, subscriptions: int) -> None:
    import cProfile
    import pstats

    url = backend.new_url(f"billing_profile_{subscriptions}")
    asyncio.run(_seed(url, subscriptions))
    profiler = cProfile.Profile()
    profiler.enable()
    figures = asyncio.run(_timed_run(url))
    profiler.disable()
    print(json.dumps({k: v for k, v in figures.items() if not k.endswith("bytes")}, default=str))
    stats = pstats.Stats(profiler).sort_stats("cumulative")
    stats.print_stats(45)
    stats.sort_stats("tottime").print_stats(25)


def main(argv: list[str] | None = None) -> int:
    """Run the bill-run benchmark alone (or, with --child, its timed phase)."""
    parser = argparse.ArgumentParser(prog="python -m bench.billing_run", description=__doc__)
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true", help="cProfile the timed phase")
    args = SIZING.command_line(parser, "subscriptions", argv)
    if args.child:
        print(json.dumps(_child(args.child)))
        return 0
    if args.profile:
        wanted = SIZING.backend_names()
        with backends(with_postgres="postgresql" in wanted) as (found, _skipped):
            for backend in found:
                if backend.name in wanted:
                    for size in SIZING.sizes(args.quick):
                        print(f"== profile {backend.name} {size}")
                        _profile(backend, size)
        return 0
    result = run(args.quick)
    for line in summary(result):
        print(line)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
