"""Quote accept latency: HTTP 200 of POST /accept, then QuoteAccepted readable on quote.events.

The quote service runs in-process (uvicorn on a loopback port, as the tests
run it) on SQLite and on PostgreSQL against a real Tansu broker. After the
products, the quotes and a few warm-up accepts are published, a reader outside
any group (fetch_max_wait_ms=10) is positioned at the fetch high watermark of
every partition of quote.events. Then the quotes are accepted one after the
other; for each the time of the HTTP 200 and the time its QuoteAccepted is
fetched are noted.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from aiokafka.structs import ConsumerRecord
from quote.main import app_factory
from quote.settings import QuoteSettings
from revline_testkit.broker import TansuBroker
from revline_testkit.live import LiveService, api_keys_setting, auth, serve_in_process

from bench.common import (
    BUDGET_S,
    Backend,
    TopicReader,
    backends,
    distribution_ms,
    eventually,
    rate,
)

NAME = "quote_accept_latency"
FULL_QUOTES = 200
QUICK_QUOTES = 50
WARMUP_QUOTES = 10
ACCOUNTS = 20
TOPIC = "quote.events"

PRODUCTS = [
    {"sku": "SEAT", "name": "Seat", "currency": "USD", "unit_price": 5000,
     "charge_type": "recurring", "billing_period": "month"},
    {"sku": "SETUP", "name": "Setup", "currency": "USD", "unit_price": 25000,
     "charge_type": "one_time"},
]  # fmt: skip


def _quote_body(i: int) -> dict[str, Any]:
    return {
        "account_id": f"acct-{i % ACCOUNTS:02d}", "currency": "USD", "start_date": "2026-01-15",
        "term_months": 12, "bill_cycle_day": 1,
        "lines": [{"sku": "SEAT", "quantity": 10 + i % 7, "discount_percent": "10"},
                  {"sku": "SETUP", "quantity": 1}],
    }  # fmt: skip


async def _post(svc: LiveService, path: str, body: Any = None, expect: int = 201) -> Any:
    response = await svc.client.post(path, json=body, headers=auth("sales"))
    if response.status_code != expect:
        raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:300]}")
    return response.json()


async def _measure(
    svc: LiveService, bootstrap: str, partitions: int, quotes: int
) -> dict[str, Any]:
    for product in PRODUCTS:
        await _post(svc, "/v1/products", product)
    ids = [
        (await _post(svc, "/v1/quotes", _quote_body(i)))["id"]
        for i in range(quotes + WARMUP_QUOTES)
    ]
    warmup, measured = ids[:WARMUP_QUOTES], ids[WARMUP_QUOTES:]
    for quote_id in warmup:
        await _post(svc, f"/v1/quotes/{quote_id}/accept", expect=200)

    async def drained() -> bool:
        return bool(await svc.runtime.relay.backlog() == 0)

    await eventually(drained, "an empty outbox")

    arrived: dict[str, float] = {}
    positioned = False

    def on_records(records: list[ConsumerRecord[bytes, bytes]], now: float) -> None:
        for record in records:
            if not positioned or dict(record.headers).get("type") != b"QuoteAccepted":
                continue
            stream_id = json.loads(record.value or b"{}")["stream_id"]
            arrived.setdefault(stream_id, now)

    reader = TopicReader(bootstrap, TOPIC, partitions, on_records=on_records)
    await reader.start()
    try:
        await eventually(reader.caught_up, "the reader at the high watermark")
        positioned = True  # anything fetched from here on was published during the run
        requested: dict[str, float] = {}
        answered: dict[str, float] = {}
        run_started = time.perf_counter()
        for quote_id in measured:
            requested[quote_id] = time.perf_counter()
            body = await _post(svc, f"/v1/quotes/{quote_id}/accept", expect=200)
            answered[quote_id] = time.perf_counter()
            if body["status"] != "accepted":
                raise RuntimeError(f"accept of {quote_id} answered {body['status']}")

        async def all_arrived() -> bool:
            return all(q in arrived for q in measured)

        run_s = time.perf_counter() - run_started
        await eventually(all_arrived, "every QuoteAccepted on quote.events")
    finally:
        await reader.stop()
    unexpected = set(arrived) - set(measured)
    return {
        "quotes": len(measured),
        "warmup_quotes": len(warmup),
        "accepts_per_s": rate(len(measured), run_s),
        "http_accept": distribution_ms([answered[q] - requested[q] for q in measured]),
        "http_done_to_consumed": distribution_ms([arrived[q] - answered[q] for q in measured]),
        "request_to_consumed": distribution_ms([arrived[q] - requested[q] for q in measured]),
        "unexpected_accepts_seen": len(unexpected),
    }


async def _one_backend(backend: Backend, bootstrap: str, quotes: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="revline-bench-quote-") as tmp:
        url = await asyncio.to_thread(backend.new_url, "quote_bench")
        settings = QuoteSettings(
            database_url=url,
            kafka_bootstrap=bootstrap,
            api_keys=api_keys_setting(),
            dev_keys_file=Path(tmp) / "dev-keys.json",
        )
        # A fresh broker topic per backend: the quote service creates quote.events itself.
        async with serve_in_process(app_factory(settings)) as svc:
            return await _measure(svc, bootstrap, settings.topic_partitions, quotes)


def run(quick: bool) -> dict[str, Any]:
    """The benchmark's figures (starts and stops its own broker and PostgreSQL)."""
    quotes = QUICK_QUOTES if quick else FULL_QUOTES
    result: dict[str, Any] = {"quotes": quotes}
    with backends() as (found, skipped):
        for backend in found:
            # Each backend gets its own empty broker, so quote.events starts empty.
            with TansuBroker() as broker:
                result[backend.name] = asyncio.run(
                    asyncio.wait_for(_one_backend(backend, broker.bootstrap, quotes), BUDGET_S)
                )
    if skipped:
        result["skipped"] = skipped
    return result


def summary(result: dict[str, Any]) -> list[str]:
    """Readable lines for the console."""
    lines = [
        f"{'backend':<11}{'measure (ms)':<24}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}{'mean':>8}"
    ]
    for name in ("sqlite", "postgresql"):
        figures = result.get(name)
        if not isinstance(figures, dict):
            continue
        lines.append(
            f"{name:<11}{figures['quotes']} accepts one after another, "
            f"{figures['accepts_per_s']} accepts/s"
        )
        for key in ("http_accept", "http_done_to_consumed", "request_to_consumed"):
            d = figures[key]
            lines.append(
                f"{name:<11}{key:<24}{d['p50_ms']:>8}{d['p90_ms']:>8}{d['p99_ms']:>8}"
                f"{d['max_ms']:>8}{d['mean_ms']:>8}"
            )
    for name, why in result.get("skipped", {}).items():
        lines.append(f"{name}: skipped ({why})")
    return lines
