"""End to end on the dev stack: quotes through all five services to journal entries, and
rebuild time per 100,000 events per service; on SQLite and PostgreSQL.

The stack is started by `make run`'s own code (revline_testkit.devstack): Tansu
and quote, contract, order, billing and ledger, each a separate process
(`python -m <name> serve`), on SQLite files in a temp dir, or on one database
per service of a throwaway PostgreSQL (`<NAME>_DATABASE_URL`, as an operator
would point `make run` at one). Each quote's flow is what a client does over
HTTP: accept the quote, wait for billing's schedule (GET every POLL_S), run a bill
run for the account as of the start date, wait for the ledger's first journal
entry of the account (GET every POLL_S). The probes are requests like any
other: they cost the services measured a little.

1. Latency: LATENCY_QUOTES flows one after the other; accept -> first journal
   entry, p50/p99 (the bill run the client starts is inside it).
2. Throughput: THROUGHPUT_QUOTES flows, IN_FLIGHT at a time; quotes per second
   from the first accept to the last journal entry.
3. Rebuild: the stack stopped, each service's projections dropped and replayed
   from its event store in this process (what `python -m <name> rebuild` does,
   without the process start), timed, as ms per 100,000 events.
"""

from __future__ import annotations

import asyncio
import importlib
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from revline_events.clock import SystemClock
from revline_events.replay import rebuild_projections
from revline_service.service import Runtime
from revline_testkit.live import api_keys_setting, auth
from revline_testkit.postgres import ThrowawayPostgres
from revline_testkit.price_book import F1_PRODUCTS

from bench.common import (
    DEADLINE_S,
    distribution_ms,
    environment,
    free_ports,
    rate,
    running_stack,
)

NAME = "e2e_flow"
SERVICES = ("quote", "contract", "order", "billing", "ledger")
FULL = {"latency_quotes": 100, "throughput_quotes": 600, "in_flight": 8}
QUICK = {"latency_quotes": 10, "throughput_quotes": 40, "in_flight": 4}
POLL_S = 0.005
START = "2026-01-15"
ADMIN = auth("admin")


class Flow:
    """One customer's quote, from accept to its first journal entry, over HTTP."""

    def __init__(self, client: httpx.AsyncClient, urls: Mapping[str, str]) -> None:
        self.client = client
        self.urls = urls

    async def call(self, method: str, service: str, path: str, expect: int, **kw: Any) -> Any:
        answer = await self.client.request(method, self.urls[service] + path, headers=ADMIN, **kw)
        if answer.status_code != expect:
            raise RuntimeError(
                f"{method} {service}{path}: {answer.status_code} {answer.text[:300]}"
            )
        return answer.json()

    async def until_listed(self, service: str, path: str, account: str) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while not (await self.call("GET", service, path, 200, params={"account_id": account}))[
            "data"
        ]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{account}: nothing at {service}{path} in {DEADLINE_S}s")
            await asyncio.sleep(POLL_S)

    async def draft(self, account: str) -> str:
        body = {
            "account_id": account, "currency": "USD", "start_date": START, "term_months": 12,
            "bill_cycle_day": 1,
            "lines": [{"sku": "SEAT", "quantity": 10, "discount_percent": "10"},
                      {"sku": "SETUP", "quantity": 1}],
        }  # fmt: skip
        quote_id: str = (await self.call("POST", "quote", "/v1/quotes", 201, json=body))["id"]
        return quote_id

    async def run(self, account: str, quote_id: str) -> tuple[float, float]:
        """Accept -> schedule -> bill run -> journal entry; (accepted at, booked at)."""
        sent = time.monotonic()
        await self.call("POST", "quote", f"/v1/quotes/{quote_id}/accept", 200)
        await self.until_listed("billing", "/v1/billing-schedules", account)
        body = {"as_of": START, "account_id": account}
        run = await self.call("POST", "billing", "/v1/bill-runs", 201, json=body)
        if len(run["invoice_ids"]) != 1:
            raise RuntimeError(f"{account}: bill run made {run['invoice_ids']}")
        await self.until_listed("ledger", "/v1/journal-entries", account)
        return sent, time.monotonic()


async def _measure(urls: Mapping[str, str], sizes: Mapping[str, Any]) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(timeout=60.0) as client:
        flow = Flow(client, urls)
        for product in F1_PRODUCTS:
            await flow.call("POST", "quote", "/v1/products", 201, json=product)
        warm = [f"e2e-{tag}-w{i}" for i in range(3)]
        single = [f"e2e-{tag}-l{i:04d}" for i in range(sizes["latency_quotes"])]
        many = [f"e2e-{tag}-t{i:04d}" for i in range(sizes["throughput_quotes"])]
        drafts = {account: await flow.draft(account) for account in warm + single + many}
        for account in warm:
            await flow.run(account, drafts[account])
        latencies = []
        for account in single:
            sent, booked = await flow.run(account, drafts[account])
            latencies.append(booked - sent)
        gate = asyncio.Semaphore(sizes["in_flight"])

        async def one(account: str) -> tuple[float, float]:
            async with gate:
                return await flow.run(account, drafts[account])

        spans = await asyncio.gather(*(one(account) for account in many))
    first, last = min(s for s, _ in spans), max(b for _, b in spans)
    return {
        "accept_to_first_journal_entry": distribution_ms(latencies),
        "under_load_accept_to_first_journal_entry": distribution_ms([b - s for s, b in spans]),
        "quotes_per_s_to_journal_entries": rate(len(many), last - first),
        "in_flight": sizes["in_flight"],
    }


async def _rebuild(name: str) -> dict[str, Any]:
    """Replay `name`'s event store into fresh projections, in this process (settings
    from the environment, as the stack's were)."""
    spec = importlib.import_module(f"{name}.main").SPEC
    runtime = Runtime(spec, spec.settings_cls(), SystemClock())
    try:
        started = time.perf_counter()
        count = await rebuild_projections(runtime.db, runtime.store, spec.projector,
                                          spec.projections)  # fmt: skip
        seconds = time.perf_counter() - started
    finally:
        await runtime.relay.close()
        await runtime.db.dispose()
    return {
        "events": count,
        "seconds": round(seconds, 3),
        "ms_per_100k_events": round(seconds * 1000 * 100_000 / count) if count else None,
    }


def _run_on(backend: str, tmp: Path, sizes: Mapping[str, Any]) -> dict[str, Any]:
    broker_port, *service_ports = free_ports(1 + len(SERVICES))
    env = {
        f"{name.upper()}_PORT": str(port)
        for name, port in zip(SERVICES, service_ports, strict=True)
    }
    env |= {"REVLINE_BROKER_PORT": str(broker_port), "REVLINE_API_KEYS": api_keys_setting()}
    server = ThrowawayPostgres().start() if backend == "postgresql" else None
    try:
        if server is not None:
            env |= {f"{name.upper()}_DATABASE_URL": server.create_database(f"e2e_{name}")
                    for name in SERVICES}  # fmt: skip
        else:
            env |= {f"{name.upper()}_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / name}.db"
                    for name in SERVICES}  # fmt: skip
        with environment(env):
            with running_stack(tmp / backend, broker_port, SERVICES) as stack:
                urls = {plan.name: plan.url for plan in stack.plans}
                figures = asyncio.run(_measure(urls, sizes))
            figures["rebuild"] = {name: asyncio.run(_rebuild(name)) for name in SERVICES}
        return figures
    finally:
        if server is not None:
            server.stop()


def run(quick: bool) -> dict[str, Any]:
    """Each backend in turn: start the stack, measure, stop what it started."""
    sizes = QUICK if quick else FULL
    result: dict[str, Any] = {"quick": quick, **sizes}
    with tempfile.TemporaryDirectory(prefix="revline-bench-e2e-") as tmp:
        for backend in ("sqlite", "postgresql"):
            folder = Path(tmp) / backend
            folder.mkdir()
            result[backend] = _run_on(backend, folder, sizes)
    return result


def summary(result: dict[str, Any]) -> list[str]:
    """Readable lines for the console."""
    lines = []
    for backend in ("sqlite", "postgresql"):
        figures = result.get(backend)
        if not isinstance(figures, dict):
            continue
        one = figures["accept_to_first_journal_entry"]
        loaded = figures["under_load_accept_to_first_journal_entry"]
        lines.append(
            f"{backend}: {figures['quotes_per_s_to_journal_entries']} quotes/s to journal "
            f"entries ({figures['in_flight']} in flight, p50 {loaded['p50_ms']} ms, "
            f"p99 {loaded['p99_ms']} ms); one at a time: p50 {one['p50_ms']} ms, "
            f"p99 {one['p99_ms']} ms"
        )
        rebuilt = ", ".join(
            f"{name} {r['ms_per_100k_events']} ms ({r['events']} events)"
            for name, r in figures["rebuild"].items()
        )
        lines.append(f"  rebuild per 100k events: {rebuilt}")
    return lines
