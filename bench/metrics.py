"""RevOps metrics over HTTP at 10,000 and 100,000 accounts with a year of history, SQLite and
PostgreSQL, and the rebuild of the metrics read model from the ledger's log.

For each backend and size a fresh ledger database (its own alembic migrations) gets the
ledger events the metrics reactions would have recorded for `accounts` customers in EUR
(`ContractFactsNoted`, `QuoteFactsNoted`: ledger/handlers/metrics_events.py), appended to
its event store and projected by the ledger's projector, a chunk per
transaction. Each account has a quote (created, presented, accepted), a 12-month contract
starting in 2025 with two recurring lines (monthly seats, a yearly plan), half of them an
amendment of the seats, one in ten a termination, one in four of the yearly ones a second
term (a renewal). The ledger then runs in process (`serve_in_process`, its consumer on
empty topics of a Tansu broker, the clock at TODAY, the recognition timer off), and each
endpoint is requested once untimed, then `REQUESTS` times, one after the other: request
sent -> whole body read. Before timing, the movements of every month must add up to the
change in MRR; that first request, which loads and folds the read model (kept between
requests while it holds the same rows: store/metrics.py, KeptHistories), is timed as
`first_request_ms`. Last, `rebuild_projections` (what `python -m ledger rebuild` runs) is
timed, and the state digest must be the same after it.

Endpoints: `/v1/metrics/mrr` on 2025-12-31, `/v1/metrics/mrr-movements` over 2025,
`/v1/metrics/retention` of December 2025 over 12 months (each over every account).

`python -m bench.metrics [--sizes 10000] [--backends sqlite]` runs it alone; under
`python -m bench` the sizes come from `BENCH_METRICS_SIZES` and the backends from
`BENCH_METRICS_BACKENDS`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import time
import uuid
from collections.abc import Awaitable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

from revline_testkit.broker import TansuBroker

from bench.common import (
    Backend,
    Sizing,
    distribution_ms,
    per_backend_and_size,
    ratio,
    timed_gets,
)

NAME = "metrics"
SIZING = Sizing("METRICS", full=(10_000, 100_000), quick=(1_000, 10_000))
REQUESTS = 3
QUICK_REQUESTS = 2
FINANCE = {"Authorization": "Bearer bench-finance"}
TODAY = date(2026, 1, 15)
LAST_RECORDED = date(2025, 12, 31)
CHUNK = 2_000  # events per seeding transaction
ENDPOINTS: dict[str, tuple[str, dict[str, str]]] = {
    "mrr": ("/v1/metrics/mrr", {"as_of": "2025-12-31"}),
    "mrr_movements": ("/v1/metrics/mrr-movements", {"from": "2025-01-01", "to": "2025-12-31"}),
    "retention": ("/v1/metrics/retention", {"as_of": "2025-12-31", "months": "12"}),
}


def _noon(day: date) -> datetime:
    return datetime.combine(day, clock_time(12), tzinfo=UTC)


def account_events(k: int) -> list[tuple[datetime, Any]]:
    """The metrics facts of account k as the ledger notes them: (recorded_at, payload)."""
    from revline_events.payloads.ledger import (
        ContractFactsNoted,
        NotedLine,
        NotedPrice,
        NotedQuantity,
        NotedTerm,
        QuoteFactsNoted,
    )

    rng = random.Random(k)
    account, contract, quote = f"acct-{k:06d}", f"ct-{k:06d}", f"qt-{k:06d}"
    start = date(2025, 1, 1) + timedelta(days=rng.randrange(0, 300))
    end = date(start.year + 1, start.month, min(start.day, 28)) - timedelta(days=1)
    seats, price = rng.randrange(1, 30), rng.randrange(1_000, 20_000)
    plan = rng.randrange(100_000, 2_000_000)
    created = start - timedelta(days=rng.randrange(10, 60))
    events: list[tuple[datetime, Any]] = []

    def step(kind: str, on: date, **more: Any) -> None:
        events.append(
            (
                _noon(on),
                QuoteFactsNoted(
                    quote_id=quote,
                    account_id=account,
                    currency="EUR",
                    kind="new",
                    step=kind,
                    step_date=on,
                    recorded_at=_noon(on),
                    source_event_id=f"src-{quote}-{kind}",
                    **more,
                ),
            )
        )

    def noted(on: date, name: str, **facts: Any) -> None:
        on = min(on, LAST_RECORDED)  # every fact is known by TODAY
        events.append(
            (
                _noon(on),
                ContractFactsNoted(
                    contract_id=contract,
                    account_id=account,
                    currency="EUR",
                    recorded_at=_noon(on),
                    source_event_id=f"src-{contract}-{name}",
                    **facts,
                ),
            )
        )

    accepted = start - timedelta(days=rng.randrange(0, 5))
    step("created", created)
    step("presented", created + timedelta(days=2))
    step(
        "accepted",
        accepted,
        total_contract_value=12 * seats * price + plan,
        recurring=[
            NotedPrice(billing_period="month", unit_price=price, quantity=seats),
            NotedPrice(billing_period="year", unit_price=plan, quantity=1),
        ],
    )
    lines = [
        NotedLine(
            line_id=f"{contract}-seat@{start}",
            subscription_id=f"{contract}-seat",
            billing_period="month",
            unit_price=price,
            quantity=seats,
            start_date=start,
            end_date=end,
        ),
        NotedLine(
            line_id=f"{contract}-plan@{start}",
            subscription_id=f"{contract}-plan",
            billing_period="year",
            unit_price=plan,
            quantity=1,
            start_date=start,
            end_date=end,
        ),
    ]
    noted(
        accepted,
        "created",
        term=NotedTerm(start_date=start, end_date=end, quote_id=quote),
        lines=lines,
    )
    if k % 2 == 0:
        effective = start + timedelta(days=rng.randrange(20, 200))
        change = NotedQuantity(
            line_id=lines[0].line_id, effective_date=effective, quantity=rng.randrange(0, 40)
        )
        noted(effective, "amended", quantities=[change])
    if k % 10 == 3:
        last = start + timedelta(days=rng.randrange(60, 300))
        noted(last - timedelta(days=5), "terminated", ended_on=last)
    elif k % 4 == 1:
        renewal_end = date(end.year + 1, end.month, end.day)
        renewal = NotedLine(
            line_id=f"{contract}-plan@{end + timedelta(days=1)}",
            subscription_id=f"{contract}-plan",
            billing_period="year",
            unit_price=plan,
            quantity=1,
            start_date=end + timedelta(days=1),
            end_date=renewal_end,
        )
        noted(
            end - timedelta(days=10),
            "renewed",
            term=NotedTerm(start_date=end + timedelta(days=1), end_date=renewal_end),
            lines=[renewal],
        )
    return events


async def seed(url: str, accounts: int, first: int = 0) -> dict[str, Any]:
    """Append and project the metrics events of accounts `first`..`first + accounts - 1`;
    the counts and the time taken."""
    from ledger.main import SPEC
    from ledger.store.projector import PROJECTOR
    from ledger.store.tables import kernel
    from revline_events.catalogue import CATALOGUE, make_envelope
    from revline_events.clock import FixedClock
    from revline_events.database import Database
    from revline_events.event_store import EventStore

    db = Database(url)
    store = EventStore(kernel, SPEC.topic, unpublished=CATALOGUE.unpublished())
    started = time.perf_counter()
    count = 0
    try:
        pending: list[Any] = []

        async def flush() -> None:
            async with db.session() as session, session.begin():
                await store.append_new_streams(session, [e for e, _ in pending])
                await PROJECTOR.project_batch(session, pending)
            pending.clear()

        for k in range(first, first + accounts):
            for recorded_at, payload in account_events(k):
                envelope = make_envelope(
                    payload,
                    stream_id=f"metrics:{payload.source_event_id}",
                    stream_version=1,
                    account_id=payload.account_id,
                    producer="ledger",
                    clock=FixedClock(recorded_at),
                )
                pending.append((envelope, payload))
                count += 1
            if len(pending) >= CHUNK:
                await flush()
        if pending:
            await flush()
    finally:
        await db.dispose()
    return {
        "accounts": accounts,
        "events": count,
        "seed_s": round(time.perf_counter() - started, 2),
    }


def _check(movements: dict[str, Any]) -> None:
    """Every month's movements add up to its change in MRR."""
    for month in movements["currencies"][0]["months"]:
        change = month["mrr_after"] - month["mrr_before"]
        if change != month["net_change"]:
            raise RuntimeError(f"movements of {month['month']} do not add up: {month}")


async def _time_endpoints(client: Any, requests: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for name, (path, params) in ENDPOINTS.items():

        def get(_: int, path: str = path, params: Any = params) -> Awaitable[Any]:
            return client.get(path, params=params, headers=FINANCE, timeout=600)

        figures[name] = await timed_gets(name, get, requests)
    return figures


async def _after_new_contracts(
    client: Any, url: str, accounts: int, requests: int
) -> dict[str, Any]:
    """Per endpoint, `requests` times: one new account's quote and contract recorded (its
    ledger events appended and projected, as the consumer would), then the endpoint
    requested once (the kept fold takes in only the new rows). `full_loads` counts the
    loads of every row meanwhile (0: every request added to the kept fold)."""
    from ledger.store.metrics import KEPT_HISTORIES

    loads = KEPT_HISTORIES.loads
    figures: dict[str, Any] = {}
    k = accounts
    for name, (path, params) in ENDPOINTS.items():
        times = []
        for _ in range(requests):
            await seed(url, 1, first=k)
            k += 1
            started = time.perf_counter()
            response = await client.get(path, params=params, headers=FINANCE, timeout=600)
            times.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
        figures[name] = distribution_ms(times)
    return {**figures, "full_loads": KEPT_HISTORIES.loads - loads}


async def _time_known_at_past(client: Any, requests: int) -> dict[str, Any]:
    """Movements over 2025 as known at the end of June 2025: every fact folded again."""
    path, params = ENDPOINTS["mrr_movements"]
    asked = {**params, "known_at": "2025-06-30T23:59:59Z"}

    def get(_: int) -> Awaitable[Any]:
        return client.get(path, params=asked, headers=FINANCE, timeout=600)

    return await timed_gets("mrr_movements_known_at_past", get, requests)


async def _one(backend: Backend, broker: TansuBroker, accounts: int, requests: int) -> Any:
    from ledger.main import SPEC, app_factory
    from ledger.settings import LedgerSettings
    from revline_events.clock import FixedClock
    from revline_events.replay import rebuild_projections
    from revline_service.migrations import upgrade
    from revline_testkit.live import serve_in_process

    url = backend.new_url(f"metrics_{accounts}_{uuid.uuid4().hex[:6]}")
    await upgrade(SPEC.alembic_dir, url)
    seeded = await seed(url, accounts)
    settings = LedgerSettings(
        database_url=url,
        kafka_bootstrap=broker.bootstrap,
        api_keys="bench-finance:admin",
        consumer_group=f"bench-metrics-{uuid.uuid4().hex[:6]}",
        consumer_session_timeout_ms=2000,
        migrate_on_start=False,
        log_level="WARNING",
        recognition_interval_s=0,
    )
    clock = FixedClock(datetime(TODAY.year, TODAY.month, TODAY.day, 12, 0, tzinfo=UTC))
    async with serve_in_process(app_factory(settings, clock=clock)) as live:
        client = live.client
        # The first request loads and folds the read model (KeptHistories keeps it).
        path, params = ENDPOINTS["mrr_movements"]
        started = time.perf_counter()
        movements = await client.get(path, params=params, headers=FINANCE, timeout=600)
        cold_ms = round((time.perf_counter() - started) * 1000, 2)
        _check(movements.json())
        endpoints = await _time_endpoints(client, requests)
        after_new = await _after_new_contracts(client, url, accounts, requests)
        past = await _time_known_at_past(client, requests)
        digest = await client.get("/v1/admin/state-digest", headers=FINANCE, timeout=600)
        runtime = live.runtime
        started = time.perf_counter()
        replayed = await rebuild_projections(
            runtime.db, runtime.store, runtime.spec.projector, runtime.spec.projections
        )
        rebuild_s = time.perf_counter() - started
        again = await client.get("/v1/admin/state-digest", headers=FINANCE, timeout=600)
        if again.json() != digest.json():
            raise RuntimeError("the state digest changed in the rebuild")
    return {
        "seed": seeded,
        "first_request_ms": cold_ms,
        "endpoints": endpoints,
        "after_one_new_contract": after_new,
        "known_at_past": past,
        "rebuild": {"events": replayed, "rebuild_s": round(rebuild_s, 2)},
    }


def _growth(by_size: dict[str, Any]) -> dict[str, Any]:
    """Per endpoint and the rebuild: the time at a size / at the one 10x smaller."""
    sizes = sorted(int(s.split("_")[1]) for s in by_size)
    found: dict[str, Any] = {}
    for small, large in itertools.pairwise(sizes):
        if large != 10 * small:
            continue
        low, high = by_size[f"accounts_{small}"], by_size[f"accounts_{large}"]
        found[f"{large}_vs_{small}_ratio"] = {
            **{
                n: ratio(high["endpoints"][n]["p50_ms"], low["endpoints"][n]["p50_ms"])
                for n in ENDPOINTS
            },
            "rebuild": ratio(high["rebuild"]["rebuild_s"], low["rebuild"]["rebuild_s"]),
        }
    return found


def run(quick: bool) -> dict[str, Any]:
    """Every size on every backend; the figures for results.json."""
    sizes = SIZING.sizes(quick)
    requests = QUICK_REQUESTS if quick else REQUESTS
    figures = per_backend_and_size(
        SIZING.backend_names(),
        sizes,
        "accounts",
        lambda backend, broker, n: _one(backend, broker, n, requests),
        _growth,
    )
    return {
        "sizes_accounts": sizes,
        "requests_per_endpoint": requests,
        **asyncio.run(figures),
    }


def summary(figures: dict[str, Any]) -> list[str]:
    """One line per backend and size: each endpoint's median and the rebuild."""
    lines = []
    for backend in ("sqlite", "postgresql"):
        for size, f in (figures.get(backend) or {}).items():
            if not size.startswith("accounts_"):
                continue
            medians = "  ".join(f"{n} {r['p50_ms']}" for n, r in f["endpoints"].items())
            after = "  ".join(f"{n} {f['after_one_new_contract'][n]['p50_ms']}" for n in ENDPOINTS)
            lines.append(
                f"{backend:10} {size:16} first request {f['first_request_ms']} ms; kept p50 ms: "
                f"{medians}; after a new contract p50 ms: {after}; known_at in the past "
                f"{f['known_at_past']['p50_ms']} ms; rebuild {f['rebuild']['rebuild_s']} s"
            )
    for backend, reason in (figures.get("skipped") or {}).items():
        lines.append(f"{backend}: skipped ({reason})")
    return lines


def main() -> None:
    """Run alone: `python -m bench.metrics --sizes 10000 --backends sqlite`."""
    parser = argparse.ArgumentParser(prog="python -m bench.metrics")
    args = SIZING.command_line(parser, "accounts")
    print(json.dumps(run(args.quick), indent=2))


if __name__ == "__main__":
    main()
