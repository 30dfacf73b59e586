"""Consumer ingestion: upstream events handled per second through a service's real consumer.

For each backend (SQLite file, throwaway PostgreSQL) and case, a fresh Tansu
broker and a fresh service database (migrated with the service's own alembic
migrations) get N upstream events published before the consumer starts
(untimed, keyed by account as the upstream relay would). Then the service's
own `ConsumerRunner`, as its `Runtime` builds it from the service's spec
(handlers, batch handlers, consumer group settings), consumes them in process:
the timed phase runs from the moment the group gave it its partitions until
the metric of handled events reaches N; the inbox is then checked to hold all
N (a dead-lettered event fails the run). The relay does not run, so the
outbox fills and is left.

Cases: billing's `OrderActivated` (one order per account, one monthly
subscription each, so N orders = N subscriptions), contract's
`QuoteAccepted` (a new one-line quote per account) and order's
`ContractCreated` (a new one-subscription contract per account).

Beside it, on the same database in the same run: plain executemany inserts of
N rows shaped as the event store's (the upstream envelopes), into a table with
the event store's columns and no keys, 500 rows per transaction. The
ingest/raw ratio is the figure to watch.

`python -m bench.consumer_ingest [--cases billing:10000,contract:1000]
[--backends sqlite,postgresql] [--profile]` runs it alone and prints the
figures (`--profile`: a cProfile of the consumer during the timed phase, top
functions, instead); under `python -m bench` the cases come from
`BENCH_CONSUMER_INGEST_CASES` and the backends from
`BENCH_CONSUMER_INGEST_BACKENDS`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import os
import pstats
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from revline_events.catalogue import EventPayload
from revline_events.clock import FixedClock
from revline_events.envelope import Envelope
from revline_events.kafka import new_producer
from revline_events.metrics import EVENTS_HANDLED
from revline_events.topics import dead_letter_topic, ensure_topics
from revline_testkit.broker import TansuBroker
from revline_testkit.publishing import upstream_event
from sqlalchemy import JSON, Column, Date, DateTime, Integer, MetaData, String, Table, insert

from bench.common import DEADLINE_S, Backend, backend_names, backends, rate, ratio

NAME = "consumer_ingest"
FULL_CASES = (
    ("billing", 10_000),
    ("billing", 100_000),
    ("contract", 10_000),
    ("order", 10_000),
)
QUICK_CASES = (("billing", 1_000), ("contract", 1_000), ("order", 1_000))
PUBLISH_BATCH = 1000
RAW_ROWS_PER_TX = 500
START = date(2026, 1, 1)
YEAR_END = date(2026, 12, 31)
UPSTREAM_CLOCK = FixedClock(datetime(2025, 12, 20, 9, 0, tzinfo=UTC))
SERVICE_CLOCK = FixedClock(datetime(2026, 1, 1, 6, 0, tzinfo=UTC))
# The timed phase is abandoned (a failure, not a figure) when events stop arriving
# for this long.
STALL_S = DEADLINE_S


def _cases(quick: bool) -> list[tuple[str, int]]:
    raw = os.environ.get("BENCH_CONSUMER_INGEST_CASES")
    if raw:
        return [_case(item) for item in raw.split(",") if item.strip()]
    return list(QUICK_CASES if quick else FULL_CASES)


def _case(item: str) -> tuple[str, int]:
    service, _, size = item.strip().partition(":")
    if service not in SERVICES:
        raise ValueError(f"unknown case {service!r}; known: {', '.join(SERVICES)}")
    return service, int(size.replace("_", ""))


# ---------------------------------------------------------------- the cases


def _order_activated(n: int) -> tuple[str, EventPayload]:
    from revline_events.payloads.order import OrderActivated, OrderItem

    account = f"acct-{n:07d}"
    item = OrderItem(
        subscription_id=f"{account}-sub", sku="SEAT", name="Seat", charge_type="recurring",
        billing_period="month", quantity_delta=1 + n % 5, quantity=1 + n % 5,
        unit_price=1000 + n % 97, start_date=START, end_date=YEAR_END,
    )  # fmt: skip
    return "order.events", OrderActivated(
        order_id=f"{account}-ord", contract_id=f"{account}-ctr", account_id=account, kind="new",
        currency="USD", effective_date=START, bill_cycle_day=1, billing_timing="advance",
        contract_end_date=YEAR_END, credit_unused=False, items=[item],
    )  # fmt: skip


def _quote_accepted(n: int) -> tuple[str, EventPayload]:
    from revline_events.payloads.quote import QuoteAccepted, QuoteLineData, QuoteTotalsData

    account = f"acct-{n:07d}"
    price = 1000 + n % 97
    line = QuoteLineData(
        line_no=1, sku="SEAT", name="Seat", charge_type="recurring", billing_period="month",
        quantity=1 + n % 5, list_price=price, discount_percent="0", net_unit_price=price,
        amount_per_period=price * (1 + n % 5), subscription_id=None,
    )  # fmt: skip
    return "quote.events", QuoteAccepted(
        quote_id=f"qt-{n:07d}", account_id=account, currency="USD", kind="new",
        contract_id=None, version=1, start_date=START, term_months=12, end_date=YEAR_END,
        bill_cycle_day=1, billing_timing="advance", auto_renew=False, lines=[line],
        totals=QuoteTotalsData(recurring_per_period=0, one_time=0, total_contract_value=0),
        accepted_on=START,
    )  # fmt: skip


def _contract_created(n: int) -> tuple[str, EventPayload]:
    from revline_events.payloads.contract import ContractCreated, SubscriptionData

    account = f"acct-{n:07d}"
    seat = SubscriptionData(
        subscription_id=f"{account}-sub", sku="SEAT", name="Seat", charge_type="recurring",
        billing_period="month", quantity=1 + n % 5, unit_price=1000 + n % 97,
        start_date=START, end_date=YEAR_END,
    )  # fmt: skip
    return "contract.events", ContractCreated(
        contract_id=f"{account}-ctr", account_id=account, quote_id=f"qt-{n:07d}",
        currency="USD", start_date=START, end_date=YEAR_END, term_months=12, bill_cycle_day=1,
        billing_timing="advance", auto_renew=False, subscriptions=[seat],
    )  # fmt: skip


@dataclass(frozen=True)
class Service:
    """A service under test: its spec, settings class and a maker of upstream events."""

    event_type: str
    event: Callable[[int], tuple[str, EventPayload]]
    spec: Callable[[], Any]
    settings: Callable[[], Any]


def _billing_spec() -> Any:
    from billing.main import SPEC

    return SPEC


def _billing_settings() -> Any:
    from billing.settings import BillingSettings

    return BillingSettings


def _contract_spec() -> Any:
    from contract.main import SPEC

    return SPEC


def _contract_settings() -> Any:
    from contract.settings import ContractSettings

    return ContractSettings


def _order_spec() -> Any:
    from order.main import SPEC

    return SPEC


def _order_settings() -> Any:
    from order.settings import OrderSettings

    return OrderSettings


SERVICES = {
    "billing": Service("OrderActivated", _order_activated, _billing_spec, _billing_settings),
    "contract": Service("QuoteAccepted", _quote_accepted, _contract_spec, _contract_settings),
    "order": Service("ContractCreated", _contract_created, _order_spec, _order_settings),
}


def _envelope(service: Service, n: int) -> tuple[str, Envelope]:
    topic, payload = service.event(n)
    account = getattr(payload, "account_id")  # noqa: B009  # every case's payload has one
    return topic, upstream_event(
        payload, stream_id=f"up-{n:07d}", stream_version=1, account_id=account,
        producer="upstream", clock=UPSTREAM_CLOCK, effective_date=START,
    )  # fmt: skip


# ---------------------------------------------------------------- one run


def _outcomes(service: str, topic: str) -> dict[str, int]:
    """The runner's handled-events metric by outcome (read from that metric alone: the
    whole registry would also read /proc on every probe)."""
    found: dict[str, int] = {}
    for family in EVENTS_HANDLED.collect():
        for sample in family.samples:
            labels = sample.labels
            ours = labels.get("service") == service and labels.get("topic") == topic
            if ours and sample.name.endswith("_total"):
                found[labels["outcome"]] = int(sample.value)
    return found


def _handled(service: str, topic: str) -> int:
    return sum(_outcomes(service, topic).values())


def _dead_lettered(service: str, topic: str) -> int:
    return _outcomes(service, topic).get("dead_lettered", 0)


async def _publish(bootstrap: str, envelopes: list[tuple[str, Envelope]]) -> float:
    """send() x PUBLISH_BATCH then flush(), as a relay does; returns the seconds it took."""
    producer = new_producer(bootstrap, "bench-upstream")
    await producer.start()
    started = time.perf_counter()
    try:
        for first in range(0, len(envelopes), PUBLISH_BATCH):
            futures = [
                await producer.send(topic, value=e.to_bytes(), key=e.account_id.encode())
                for topic, e in envelopes[first : first + PUBLISH_BATCH]
            ]
            await producer.flush()
            for future in futures:
                future.result()
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def _consume(runtime: Any, topic: str, events: int, profile: bool) -> dict[str, Any]:
    """Run the service's consumer until it handled `events` records of `topic`."""
    runner = runtime.consumer
    assert runner is not None
    before = _handled(runner.service, topic)
    dead_before = _dead_lettered(runner.service, topic)
    profiler = cProfile.Profile() if profile else None
    t0 = time.perf_counter()
    task = asyncio.create_task(runner.run())
    try:
        while not runner.assignment():
            if task.done():
                task.result()
            if time.perf_counter() - t0 > DEADLINE_S:
                raise TimeoutError(f"no partitions assigned within {DEADLINE_S}s")
            await asyncio.sleep(0.005)
        t_assigned = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        last, last_change = 0, t_assigned
        while (done := _handled(runner.service, topic) - before) < events:
            now = time.perf_counter()
            if done != last:
                last, last_change = done, now
            elif now - last_change > STALL_S:
                raise TimeoutError(f"{done} of {events} handled; none for {STALL_S}s")
            if task.done():
                task.result()
                raise RuntimeError("the consumer stopped")
            await asyncio.sleep(0.02)
        t_done = time.perf_counter()
        if profiler is not None:
            profiler.disable()
    finally:
        runner.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, DEADLINE_S)
    dead = _dead_lettered(runner.service, topic) - dead_before
    if dead:
        raise RuntimeError(f"{dead} events were dead-lettered (see the log)")
    ingest_s = t_done - t_assigned
    figures: dict[str, Any] = {
        "events": events,
        "join_s": round(t_assigned - t0, 2),
        "ingest_s": round(ingest_s, 2),
        "events_per_s": rate(events, ingest_s),
    }
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
        figures["profile"] = out.getvalue()
    return figures


def _raw_table() -> tuple[MetaData, Table]:
    metadata = MetaData()
    raw = Table(
        "raw_ingest_events", metadata,
        Column("position", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(36)), Column("stream_id", String(200)),
        Column("stream_version", Integer), Column("type", String(100)),
        Column("schema_version", Integer), Column("account_id", String(64)),
        Column("occurred_at", DateTime(timezone=True)), Column("effective_date", Date),
        Column("correlation_id", String(64)), Column("causation_id", String(64)),
        Column("producer", String(40)), Column("topic", String(200)), Column("payload", JSON),
    )  # fmt: skip
    return metadata, raw


async def _raw_inserts(db: Any, envelopes: list[tuple[str, Envelope]]) -> float:
    """The same N envelopes as event-store rows, executemany in transactions of 500."""
    metadata, raw = _raw_table()
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    rows = []
    for topic, e in envelopes:
        row = e.model_dump(mode="python")
        row["topic"] = topic
        rows.append(row)
    started = time.perf_counter()
    for first in range(0, len(rows), RAW_ROWS_PER_TX):
        async with db.session() as session, session.begin():
            await session.execute(insert(raw), rows[first : first + RAW_ROWS_PER_TX])
    return rate(len(rows), time.perf_counter() - started)


async def _inbox_count(runtime: Any) -> int:
    from sqlalchemy import func, select

    inbox = runtime.spec.kernel.inbox
    async with runtime.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(inbox)) or 0)


async def _run_case(
    backend: Backend, name: str, events: int, profile: bool = False
) -> dict[str, Any]:
    from revline_service.migrations import upgrade
    from revline_service.service import Runtime

    service = SERVICES[name]
    spec = service.spec()
    url = backend.new_url(f"ingest_{name}_{events}_{uuid.uuid4().hex[:6]}")
    envelopes = [_envelope(service, n) for n in range(events)]
    topic = envelopes[0][0]
    with TansuBroker() as broker:
        settings = service.settings()(
            database_url=url, kafka_bootstrap=broker.bootstrap, api_keys="k:admin",
            consumer_group=f"bench-{name}-{uuid.uuid4().hex[:6]}",
            consumer_session_timeout_ms=2000, migrate_on_start=False,
        )  # fmt: skip
        await upgrade(spec.alembic_dir, url)
        topics = [*spec.upstream_topics, *(dead_letter_topic(t) for t in spec.upstream_topics)]
        await ensure_topics(
            broker.bootstrap,
            [spec.topic, *topics],
            partitions=settings.topic_partitions,
            replication_factor=1,
        )
        publish_s = await _publish(broker.bootstrap, envelopes)
        runtime = Runtime(spec, settings, SERVICE_CLOCK)
        try:
            figures = await _consume(runtime, topic, events, profile)
            inbox = await _inbox_count(runtime)
            if inbox != events:
                raise RuntimeError(f"the inbox holds {inbox} of {events} events")
            raw = await _raw_inserts(runtime.db, envelopes)
        finally:
            await runtime.relay.close()
            await runtime.db.dispose()
    return {
        "event_type": service.event_type,
        **figures,
        "publish_s": round(publish_s, 2),
        "raw_db_rows_per_s": raw,
        "ingest_vs_raw_db_ratio": ratio(figures["events_per_s"], raw),
    }


async def _run(quick: bool, cases: list[tuple[str, int]], names: list[str]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with backends(with_postgres="postgresql" in names) as (found, skipped):
        for backend in found:
            if backend.name not in names:
                continue
            per_backend: dict[str, Any] = {}
            for name, events in cases:
                per_backend[f"{name}_{events}"] = await _run_case(backend, name, events)
            figures[backend.name] = per_backend
        if skipped:
            figures["skipped"] = skipped
    return figures


def run(quick: bool) -> dict[str, Any]:
    """Every case on every backend; the figures for results.json."""
    cases = _cases(quick)
    return {
        "cases": [f"{name}:{events}" for name, events in cases],
        **asyncio.run(_run(quick, cases, backend_names("CONSUMER_INGEST"))),
    }


def summary(figures: dict[str, Any]) -> list[str]:
    """One line per backend and case."""
    lines = []
    for backend in ("sqlite", "postgresql"):
        for case, f in (figures.get(backend) or {}).items():
            lines.append(
                f"{backend:10} {case:16} {f['events_per_s']:>9} ev/s  "
                f"({f['ingest_s']} s, join {f['join_s']} s)  raw {f['raw_db_rows_per_s']} rows/s  "
                f"ratio {f['ingest_vs_raw_db_ratio']}"
            )
    for backend, reason in (figures.get("skipped") or {}).items():
        lines.append(f"{backend}: skipped ({reason})")
    return lines


def main() -> None:
    """Run alone: `python -m bench.consumer_ingest --cases billing:10000 --backends sqlite`."""
    parser = argparse.ArgumentParser(prog="python -m bench.consumer_ingest")
    parser.add_argument("--cases", default=None, help="e.g. billing:10000,contract:1000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the first case")
    args = parser.parse_args()
    cases = [_case(c) for c in args.cases.split(",")] if args.cases else _cases(args.quick)
    names = [b.strip() for b in args.backends.split(",")]
    if args.profile:

        async def profiled() -> dict[str, Any]:
            with backends(with_postgres="postgresql" in names) as (found, _skipped):
                backend = next(b for b in found if b.name == names[0])
                return await _run_case(backend, *cases[0], profile=True)

        result = asyncio.run(profiled())
        print(result.pop("profile"))
        print(json.dumps(result, indent=2))
        return
    print(json.dumps(asyncio.run(_run(args.quick, cases, names)), indent=2))


if __name__ == "__main__":
    main()
