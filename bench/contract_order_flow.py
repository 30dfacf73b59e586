"""Quote -> contract -> order: contracts and orders per second, and accept -> order latency.

The quote, contract and order services run in-process together (uvicorn on
loopback ports, as tests/e2e runs them), each on its own database, with unique
consumer groups and consumer_session_timeout_ms=2000, on SQLite and on
PostgreSQL, each backend against its own fresh Tansu broker. Readers outside
any group (fetch_max_wait_ms=10) follow contract.events and order.events and
note when each account's ContractCreated and OrderActivated is fetched (every
quote is for an account of its own, so the account names the quote).

1. Throughput: N quotes are accepted one after the other; contracts_per_s and
   orders_per_s are N / time from the first accept request until the N-th
   ContractCreated (OrderActivated) is fetched.
2. Latency: M more quotes, one at a time: accept, then poll every 2 ms
   GET /v1/contracts?quote_id= until the contract is listed, then
   GET /v1/orders?contract_id= until its order is.
3. Beside them, on the same broker and database server, before the services
   start: the kernel at one event per transaction (UnitOfWork + relay, as
   kernel_append_publish measures it), raw inserts and raw produce.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka.structs import ConsumerRecord
from contract.main import app_factory as contract_app
from contract.settings import ContractSettings
from fastapi import FastAPI
from order.main import app_factory as order_app
from order.settings import OrderSettings
from quote.main import app_factory as quote_app
from quote.settings import QuoteSettings
from revline_service.settings import ServiceSettings
from revline_testkit.broker import TansuBroker
from revline_testkit.live import LiveService, api_keys_setting, auth, serve_in_process

from bench.common import (
    BUDGET_S,
    DEADLINE_S,
    Backend,
    TopicReader,
    backends,
    distribution_ms,
    eventually,
    rate,
    ratio,
)
from bench.kernel_append_publish import _batches, _kernel_run, _raw_produce

NAME = "contract_order_flow"
FULL = {"throughput_quotes": 200, "latency_quotes": 100, "kernel_events": 1000, "produce": 5000}
QUICK = {"throughput_quotes": 50, "latency_quotes": 30, "kernel_events": 400, "produce": 2000}
WARMUP_QUOTES = 5
POLL_S = 0.002  # the latency loop's pause between two GETs
IDLE_SAMPLE_S = 1.0  # how long the process CPU of the idle stack is sampled
SESSION_TIMEOUT_MS = 2000  # as tests/e2e and `make run`: Tansu answers a join after half
SALES = auth("sales")

PRODUCTS = [
    {"sku": "SEAT", "name": "Seat", "currency": "USD", "unit_price": 5000,
     "charge_type": "recurring", "billing_period": "month"},
    {"sku": "SETUP", "name": "Setup", "currency": "USD", "unit_price": 25000,
     "charge_type": "one_time"},
]  # fmt: skip

APPS: dict[str, tuple[type[ServiceSettings], Callable[[Any], FastAPI]]] = {
    "quote": (QuoteSettings, quote_app),
    "contract": (ContractSettings, contract_app),
    "order": (OrderSettings, order_app),
}


def _quote_body(account: str, i: int) -> dict[str, Any]:
    return {
        "account_id": account, "currency": "USD", "start_date": "2026-01-15",
        "term_months": 12, "bill_cycle_day": 1,
        "lines": [{"sku": "SEAT", "quantity": 10 + i % 7, "discount_percent": "10"},
                  {"sku": "SETUP", "quantity": 1}],
    }  # fmt: skip


async def _call(svc: LiveService, method: str, path: str, expect: int, body: Any = None) -> Any:
    response = await svc.client.request(method, path, json=body, headers=SALES)
    if response.status_code != expect:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
    return response.json()


@dataclass
class Seen:
    """When each account's ContractCreated and OrderActivated were fetched from the topics."""

    contract_at: dict[str, float] = field(default_factory=dict)
    contract_id: dict[str, str] = field(default_factory=dict)
    order_at: dict[str, float] = field(default_factory=dict)

    def on_contracts(self, records: list[ConsumerRecord[bytes, bytes]], now: float) -> None:
        for record in records:
            if dict(record.headers).get("type") == b"ContractCreated":
                envelope = json.loads(record.value or b"{}")
                self.contract_at.setdefault(envelope["account_id"], now)
                self.contract_id.setdefault(
                    envelope["account_id"], envelope["payload"]["contract_id"]
                )

    def on_orders(self, records: list[ConsumerRecord[bytes, bytes]], now: float) -> None:
        for record in records:
            if dict(record.headers).get("type") == b"OrderActivated":
                envelope = json.loads(record.value or b"{}")
                self.order_at.setdefault(envelope["account_id"], now)

    async def all_of(self, accounts: list[str], orders: bool, what: str) -> None:
        """Wait until every account's ContractCreated (or OrderActivated) was fetched."""
        at = self.order_at if orders else self.contract_at

        async def arrived() -> bool:
            return all(a in at for a in accounts)

        await eventually(arrived, what)


async def _idle(services: dict[str, LiveService]) -> None:
    """Wait until no outbox holds an unsent row and no consumer reports a lag."""

    async def idle() -> bool:
        for svc in services.values():
            if await svc.runtime.relay.backlog():
                return False
            consumer = svc.runtime.consumer
            if consumer is not None and consumer.lag():
                return False
        return True

    await eventually(idle, "every outbox empty and every consumer caught up")


async def _listed(svc: LiveService, path: str) -> int:
    """How many items GET `path` lists over all its pages."""
    count, cursor = 0, None
    while True:
        page = await _call(
            svc, "GET", f"{path}?limit=500" + (f"&cursor={cursor}" if cursor else ""), 200
        )
        count += len(page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            return count


async def _throughput(
    services: dict[str, LiveService], seen: Seen, quotes: dict[str, str]
) -> dict[str, Any]:
    """Accept every quote one after the other; time until all contracts and orders are out."""
    accounts = list(quotes)
    cpu_started = time.process_time()
    started = time.perf_counter()
    for account in accounts:
        await _call(services["quote"], "POST", f"/v1/quotes/{quotes[account]}/accept", 200)
    accepted = time.perf_counter()
    await seen.all_of(accounts, orders=False, what="every ContractCreated on contract.events")
    await seen.all_of(accounts, orders=True, what="every OrderActivated on order.events")
    contracts_done = max(seen.contract_at[a] for a in accounts)
    orders_done = max(seen.order_at[a] for a in accounts)
    cpu_s = time.process_time() - cpu_started  # to the last fetch, give or take a poll
    wall_s = time.perf_counter() - started
    return {
        "quotes": len(accounts),
        "accepts_per_s": rate(len(accounts), accepted - started),
        "contracts_per_s": rate(len(accounts), contracts_done - started),
        "orders_per_s": rate(len(accounts), orders_done - started),
        "contract_tail_ms": round((contracts_done - accepted) * 1000, 1),
        "order_tail_ms": round((orders_done - accepted) * 1000, 1),
        "process_cpu_ratio": ratio(cpu_s, wall_s),
        "process_cpu_per_quote_ms": round(cpu_s * 1000 / len(accounts), 1),
    }


async def _one_flow(
    services: dict[str, LiveService], quote_id: str, within: float = DEADLINE_S
) -> tuple[float, float, float, float, int]:
    """Accept one quote, then poll for its contract, then for its order, every POLL_S.

    Returns when the accept was sent, answered, its contract listed, its order listed,
    and how many GETs it took.
    """
    requested = time.perf_counter()
    await _call(services["quote"], "POST", f"/v1/quotes/{quote_id}/accept", 200)
    answered = time.perf_counter()
    deadline = answered + within
    contract_id: str | None = None
    contract_listed = 0.0
    polls = 0
    while True:
        if contract_id is None:
            polls += 1
            page = await _call(
                services["contract"], "GET", f"/v1/contracts?quote_id={quote_id}", 200
            )
            if page["data"]:
                contract_id = page["data"][0]["id"]
                contract_listed = time.perf_counter()
        if contract_id is not None:
            polls += 1
            page = await _call(
                services["order"], "GET", f"/v1/orders?contract_id={contract_id}", 200
            )
            if page["data"]:
                return requested, answered, contract_listed, time.perf_counter(), polls
        if time.perf_counter() > deadline:
            raise TimeoutError(f"quote {quote_id}: no order listed within {within}s")
        await asyncio.sleep(POLL_S)


async def _latency(
    services: dict[str, LiveService], seen: Seen, quotes: dict[str, str]
) -> dict[str, Any]:
    """Each quote on its own: accept, wait for its order over HTTP, then the next."""
    flows = {account: await _one_flow(services, q) for account, q in quotes.items()}
    accounts = list(quotes)
    await seen.all_of(accounts, orders=True, what="every OrderActivated on order.events")
    for account in accounts:  # the listed contract is the one on the topic
        listed = await _call(
            services["contract"], "GET", f"/v1/contracts?quote_id={quotes[account]}", 200
        )
        if listed["data"][0]["id"] != seen.contract_id[account]:
            raise RuntimeError(f"{account}: contract listed differs from ContractCreated")
    answered = {a: f[1] for a, f in flows.items()}
    return {
        "quotes": len(accounts),
        "poll_interval_ms": POLL_S * 1000,
        "http_accept": distribution_ms([f[1] - f[0] for f in flows.values()]),
        "accept_to_contract_event": distribution_ms(
            [seen.contract_at[a] - answered[a] for a in accounts]
        ),
        "accept_to_contract_listed": distribution_ms([f[2] - f[1] for f in flows.values()]),
        "accept_to_order_event": distribution_ms(
            [seen.order_at[a] - answered[a] for a in accounts]
        ),
        "accept_to_order_listed": distribution_ms([f[3] - f[1] for f in flows.values()]),
        "gets_per_quote_mean": round(sum(f[4] for f in flows.values()) / len(flows), 1),
    }


async def _kernel_baseline(
    backend: Backend, bootstrap: str, sizes: dict[str, int]
) -> dict[str, Any]:
    """kernel_append_publish at one event per transaction, raw inserts, raw produce."""
    sample = _batches("sample", 1, 1)[0][0]
    produce = await _raw_produce(bootstrap, sizes["produce"], sample)
    events = sizes["kernel_events"]
    kernel = await _kernel_run(
        backend, bootstrap, 1, events, f"flow-{backend.name}-b1", with_raw=True
    )
    return {
        "events": events,
        "append_events_per_s": kernel["append_events_per_s"],
        "end_to_end_events_per_s": kernel["end_to_end_events_per_s"],
        "raw_db_rows_per_s": kernel["raw_db_rows_per_s"],
        "raw_produce_msgs_per_s": produce["raw_produce_msgs_per_s"],
        "raw_produce_messages": produce["raw_produce_messages"],
    }


async def _stack(
    exits: AsyncExitStack, backend: Backend, bootstrap: str, tmp: Path
) -> dict[str, LiveService]:
    group = uuid.uuid4().hex[:8]
    services: dict[str, LiveService] = {}
    for name, (settings_cls, app_factory) in APPS.items():
        url = await asyncio.to_thread(backend.new_url, f"flow_{name}")
        settings = settings_cls(
            database_url=url,
            kafka_bootstrap=bootstrap,
            api_keys=api_keys_setting(),
            dev_keys_file=tmp / "dev-keys.json",
            consumer_group=f"{name}-{group}",
            consumer_session_timeout_ms=SESSION_TIMEOUT_MS,
        )
        services[name] = await exits.enter_async_context(serve_in_process(app_factory(settings)))
    return services


async def _measure(
    services: dict[str, LiveService], bootstrap: str, sizes: dict[str, int]
) -> dict[str, Any]:
    partitions = services["contract"].runtime.settings.topic_partitions
    seen = Seen()
    readers = [
        TopicReader(bootstrap, "contract.events", partitions, on_records=seen.on_contracts),
        TopicReader(bootstrap, "order.events", partitions, on_records=seen.on_orders),
    ]
    for reader in readers:
        await reader.start()
    try:
        for product in PRODUCTS:
            await _call(services["quote"], "POST", "/v1/products", 201, product)
        run = uuid.uuid4().hex[:6]
        groups = {
            "warmup": [f"flow-{run}-w{i}" for i in range(WARMUP_QUOTES)],
            "throughput": [f"flow-{run}-t{i:04d}" for i in range(sizes["throughput_quotes"])],
            "latency": [f"flow-{run}-l{i:04d}" for i in range(sizes["latency_quotes"])],
        }
        quotes: dict[str, dict[str, str]] = {}
        for kind, accounts in groups.items():
            quotes[kind] = {}
            for i, account in enumerate(accounts):
                body = _quote_body(account, i)
                quotes[kind][account] = (
                    await _call(services["quote"], "POST", "/v1/quotes", 201, body)
                )["id"]
        # Warm-up: consumer groups joined, connections opened, every path taken once.
        for quote_id in quotes["warmup"].values():
            await _call(services["quote"], "POST", f"/v1/quotes/{quote_id}/accept", 200)
        await seen.all_of(groups["warmup"], orders=True, what="the warm-up orders")
        await _idle(services)
        cpu_started, idle_started = time.process_time(), time.perf_counter()
        await asyncio.sleep(IDLE_SAMPLE_S)  # what the idle stack and the readers cost
        idle_cpu = ratio(time.process_time() - cpu_started, time.perf_counter() - idle_started)
        throughput = await _throughput(services, seen, quotes["throughput"])
        await _idle(services)
        latency = await _latency(services, seen, quotes["latency"])
        await _idle(services)
        total = sum(len(a) for a in groups.values())
        listed = {
            "contracts_listed": await _listed(services["contract"], "/v1/contracts"),
            "orders_listed": await _listed(services["order"], "/v1/orders"),
        }
        if listed != {"contracts_listed": total, "orders_listed": total}:
            raise RuntimeError(f"{total} quotes accepted but {listed}")
    finally:
        for reader in readers:
            await reader.stop()
    return {
        "throughput": throughput,
        "latency": latency,
        "idle_process_cpu_ratio": idle_cpu,
        "accepted_quotes": total,
        **listed,
    }


async def _one_backend(backend: Backend, bootstrap: str, sizes: dict[str, int]) -> dict[str, Any]:
    # The kernel first, with nothing else on the loop, on the same broker and server.
    kernel = await _kernel_baseline(backend, bootstrap, sizes)
    with tempfile.TemporaryDirectory(prefix="revline-bench-flow-") as tmp:
        async with AsyncExitStack() as exits:
            services = await _stack(exits, backend, bootstrap, Path(tmp))
            figures = await _measure(services, bootstrap, sizes)
    flow = figures["throughput"]
    figures["kernel_1_event_tx"] = kernel
    figures["contracts_vs_kernel_end_to_end_ratio"] = ratio(
        flow["contracts_per_s"], kernel["end_to_end_events_per_s"]
    )
    figures["orders_vs_kernel_end_to_end_ratio"] = ratio(
        flow["orders_per_s"], kernel["end_to_end_events_per_s"]
    )
    figures["orders_vs_raw_db_ratio"] = ratio(flow["orders_per_s"], kernel["raw_db_rows_per_s"])
    # Orders are ~1/3000 of raw produce: three significant digits, not three decimals.
    produce = kernel["raw_produce_msgs_per_s"]
    figures["orders_vs_raw_produce_ratio"] = float(f"{flow['orders_per_s'] / produce:.3g}")
    return figures


def run(quick: bool) -> dict[str, Any]:
    """The benchmark's figures (a broker per backend, and PostgreSQL, started and stopped)."""
    sizes = QUICK if quick else FULL
    result: dict[str, Any] = dict(sizes)
    with backends() as (found, skipped):
        for backend in found:
            # Each backend gets its own empty broker: the services read upstream from offset 0.
            with TansuBroker() as broker:
                result[backend.name] = asyncio.run(
                    asyncio.wait_for(_one_backend(backend, broker.bootstrap, sizes), BUDGET_S)
                )
    if skipped:
        result["skipped"] = skipped
    return result


def summary(result: dict[str, Any]) -> list[str]:
    """Readable lines for the console."""
    lines = [
        f"{'backend':<11}{'accepts/s':>10}{'contracts/s':>12}{'orders/s':>10}"
        f"{'kernel e2e ev/s':>16}{'orders/kernel':>14}{'raw db rows/s':>14}{'raw produce':>12}"
    ]
    latency = [
        f"{'backend':<11}{'accept -> (ms)':<24}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}{'mean':>8}"
    ]
    for name in ("sqlite", "postgresql"):
        figures = result.get(name)
        if not isinstance(figures, dict):
            continue
        t, k = figures["throughput"], figures["kernel_1_event_tx"]
        lines.append(
            f"{name:<11}{t['accepts_per_s']:>10}{t['contracts_per_s']:>12}{t['orders_per_s']:>10}"
            f"{k['end_to_end_events_per_s']:>16}{figures['orders_vs_kernel_end_to_end_ratio']:>14}"
            f"{k['raw_db_rows_per_s']:>14}{k['raw_produce_msgs_per_s']:>12}"
        )
        for key in (
            "http_accept",
            "accept_to_contract_event",
            "accept_to_contract_listed",
            "accept_to_order_event",
            "accept_to_order_listed",
        ):
            d = figures["latency"][key]
            label = key.removeprefix("accept_to_")
            latency.append(
                f"{name:<11}{label:<24}{d['p50_ms']:>8}{d['p90_ms']:>8}{d['p99_ms']:>8}"
                f"{d['max_ms']:>8}{d['mean_ms']:>8}"
            )
    for name, why in result.get("skipped", {}).items():
        lines.append(f"{name}: skipped ({why})")
    return lines + latency
