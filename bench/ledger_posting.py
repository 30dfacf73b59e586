"""Ledger posting: billing's InvoicePosted through the ledger's real consumer, as journal entries.

For each backend (SQLite file, throwaway PostgreSQL) a fresh Tansu broker and a
fresh ledger database (its own alembic migrations) get N `InvoicePosted`
published to `billing.events` before the consumer starts (untimed, keyed by
account as billing's relay does): the invoices of bench/ledger_seed.py (ten
monthly invoices per account, a recurring line each, a one-time setup line on
the first), in bill-run order (every account's first invoice, then every
account's second, ...). Then the ledger's own `ConsumerRunner`, as its
`Runtime` builds it (the batch reaction `invoices_posted`: each book loaded
once per fetch), consumes them in process, exactly as bench/consumer_ingest.py
times a service: from the moment the group gave it its partitions until the
metric of handled events reaches N. No event may be dead-lettered. The
journal entries posted (each invoice's posting, and the recognition of the
earlier months its date catches up) are counted in the database afterwards.
The relay does not run, so the outbox fills and is left.

Beside it, on the same database in the same run: the same journal entries,
read back with their lines and sub-ledger moves, inserted again with plain
executemany into copies of the three tables without keys, indexes or
triggers, `RAW_ENTRIES_PER_TX` entries per transaction: what the database
itself takes. The entries per second through the consumer over that raw rate
is the figure to watch.

`python -m bench.ledger_posting [--invoices 10000] [--backends sqlite]
[--profile]` runs it alone (`--profile`: a cProfile of the consumer during
the timed phase, on the first backend named); under `python -m bench` N
comes from `BENCH_LEDGER_POSTING_INVOICES` and the backends from
`BENCH_LEDGER_POSTING_BACKENDS`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from revline_events.clock import FixedClock
from revline_events.envelope import Envelope
from revline_events.topics import dead_letter_topic, ensure_topics
from revline_testkit.broker import TansuBroker
from revline_testkit.publishing import upstream_event
from sqlalchemy import Column, MetaData, Table, func, insert, select

from bench.common import Backend, backend_names, backends, rate, ratio
from bench.consumer_ingest import _consume, _inbox_count, _publish
from bench.ledger_seed import (
    INVOICES_PER_ACCOUNT,
    SyntheticInvoice,
    accounts_for,
    invoices_of,
    month_end,
)

NAME = "ledger_posting"
FULL_INVOICES = 10_000
QUICK_INVOICES = 1_000
RAW_ENTRIES_PER_TX = 500
BILLING_CLOCK = FixedClock(datetime(2026, 1, 1, 4, 0, tzinfo=UTC))
LEDGER_CLOCK = FixedClock(datetime(2026, 1, 1, 6, 0, tzinfo=UTC))


def _invoices(quick: bool) -> int:
    raw = os.environ.get("BENCH_LEDGER_POSTING_INVOICES")
    if raw:
        return int(raw.replace("_", ""))
    return QUICK_INVOICES if quick else FULL_INVOICES


def _line(line_no: int, kind: str, amount: int, invoice: SyntheticInvoice) -> Any:
    from revline_events.payloads.billing import BilledLine, LineSource

    start = invoice.invoice_date
    end = start if kind == "one_time" else month_end(start)
    days = (end - start).days + 1
    return BilledLine(
        line_no=line_no, kind=kind, subscription_id=f"{invoice.account_id}-sub",
        contract_id=f"{invoice.account_id}-ctr", sku="SETUP" if kind == "one_time" else "SEAT",
        description=f"{kind} {start}..{end}", period_start=start, period_end=end, quantity=1,
        unit_price=amount, amount=amount,
        source=LineSource(
            order_id=f"{invoice.account_id}-ord", order_event_ids=[], span_start=start,
            nominal_start=start, nominal_end=end, days=days, nominal_days=days,
            formula=f"{amount}",
        ),
    )  # fmt: skip


def invoice_posted(invoice: SyntheticInvoice) -> Envelope:
    """Billing's InvoicePosted of a synthetic invoice, as billing's relay publishes it."""
    from revline_events.payloads.billing import InvoicePosted

    lines = [_line(1, "recurring", invoice.recurring, invoice)]
    if invoice.setup:
        lines.append(_line(2, "one_time", invoice.setup, invoice))
    payload = InvoicePosted(
        invoice_id=invoice.invoice_id, number=invoice.number, bill_run_id="br-bench",
        account_id=invoice.account_id, currency=invoice.currency,
        invoice_date=invoice.invoice_date, due_date=invoice.due_date, lines=lines,
        subtotal=invoice.total, total=invoice.total, deferred_total=invoice.recurring,
        one_time_total=invoice.setup, amount_paid=0, amount_due=invoice.total, status="posted",
    )  # fmt: skip
    return upstream_event(
        payload, stream_id=invoice.invoice_id, stream_version=1, account_id=invoice.account_id,
        producer="billing", clock=BILLING_CLOCK, effective_date=invoice.invoice_date,
    )  # fmt: skip


def _envelopes(invoices: int) -> list[tuple[str, Envelope]]:
    """Bill-run order: every account's i-th invoice before any account's (i+1)-th."""
    by_account = [invoices_of(k) for k in range(accounts_for(invoices))]
    return [
        ("billing.events", invoice_posted(found[i]))
        for i in range(INVOICES_PER_ACCOUNT)
        for found in by_account
    ]


def _bare(table: Table, metadata: MetaData) -> Table:
    """A copy of `table` with its columns only: no keys, indexes or triggers."""
    columns = [Column(c.name, c.type) for c in table.columns]
    return Table(f"raw_{table.name}", metadata, *columns)


async def _raw_inserts(db: Any) -> tuple[int, float]:
    """The journal the consumer wrote, inserted again into bare copies, RAW_ENTRIES_PER_TX
    entries (with their lines and moves) per transaction: (entries, entries per second)."""
    from ledger.store.tables import journal_entries, journal_lines, subledger_moves

    tables = (journal_entries, journal_lines, subledger_moves)
    metadata = MetaData()
    copies = [_bare(t, metadata) for t in tables]
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    async with db.session() as session:
        rows = [[dict(r) for r in (await session.execute(select(t))).mappings()] for t in tables]
    entries, lines, moves = rows
    by_entry: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {
        e["entry_id"]: ([], []) for e in entries
    }
    for line in lines:
        by_entry[line["entry_id"]][0].append(line)
    for move in moves:
        by_entry[move["entry_id"]][1].append(move)
    started = time.perf_counter()
    for first in range(0, len(entries), RAW_ENTRIES_PER_TX):
        chunk = entries[first : first + RAW_ENTRIES_PER_TX]
        chunk_lines = [x for e in chunk for x in by_entry[e["entry_id"]][0]]
        chunk_moves = [x for e in chunk for x in by_entry[e["entry_id"]][1]]
        async with db.session() as session, session.begin():
            for copy, found in zip(copies, (chunk, chunk_lines, chunk_moves), strict=True):
                if found:
                    await session.execute(insert(copy), found)
    return len(entries), rate(len(entries), time.perf_counter() - started)


async def _run_backend(backend: Backend, invoices: int, profile: bool = False) -> dict[str, Any]:
    from ledger.main import SPEC
    from ledger.settings import LedgerSettings
    from ledger.store.tables import journal_entries
    from revline_service.migrations import upgrade
    from revline_service.service import Runtime

    url = backend.new_url(f"ledger_posting_{invoices}_{uuid.uuid4().hex[:6]}")
    envelopes = _envelopes(invoices)
    topic = "billing.events"
    with TansuBroker() as broker:
        settings = LedgerSettings(
            database_url=url, kafka_bootstrap=broker.bootstrap, api_keys="k:admin",
            consumer_group=f"bench-ledger-{uuid.uuid4().hex[:6]}",
            consumer_session_timeout_ms=2000, migrate_on_start=False,
        )  # fmt: skip
        await upgrade(SPEC.alembic_dir, url)
        upstream = [*SPEC.upstream_topics, *(dead_letter_topic(t) for t in SPEC.upstream_topics)]
        await ensure_topics(
            broker.bootstrap,
            [SPEC.topic, *upstream],
            partitions=settings.topic_partitions,
            replication_factor=1,
        )
        publish_s = await _publish(broker.bootstrap, envelopes)
        runtime = Runtime(SPEC, settings, LEDGER_CLOCK)
        try:
            figures = await _consume(runtime, topic, invoices, profile=profile)
            inbox = await _inbox_count(runtime)
            if inbox != invoices:
                raise RuntimeError(f"the inbox holds {inbox} of {invoices} events")
            async with runtime.db.session() as session:
                posted = int(
                    await session.scalar(select(func.count()).select_from(journal_entries)) or 0
                )
            raw_entries, raw = await _raw_inserts(runtime.db)
        finally:
            await runtime.relay.close()
            await runtime.db.dispose()
    if raw_entries != posted:
        raise RuntimeError(f"read back {raw_entries} of {posted} entries")
    entries_per_s = rate(posted, figures["ingest_s"])
    return {
        "invoices": invoices,
        "accounts": accounts_for(invoices),
        "journal_entries": posted,
        "join_s": figures["join_s"],
        "ingest_s": figures["ingest_s"],
        "invoices_per_s": figures["events_per_s"],
        "entries_per_s": entries_per_s,
        "publish_s": round(publish_s, 2),
        "raw_db_entries_per_s": raw,
        "entries_vs_raw_db_ratio": ratio(entries_per_s, raw),
        **({"profile": figures["profile"]} if profile else {}),
    }


async def _run(invoices: int, names: list[str]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with backends(with_postgres="postgresql" in names) as (found, skipped):
        for backend in found:
            if backend.name in names:
                figures[backend.name] = await _run_backend(backend, invoices)
        if skipped:
            figures["skipped"] = skipped
    return figures


def run(quick: bool) -> dict[str, Any]:
    """N invoices on every backend; the figures for results.json."""
    return asyncio.run(_run(_invoices(quick), backend_names("LEDGER_POSTING")))


def summary(figures: dict[str, Any]) -> list[str]:
    """One line per backend."""
    lines = []
    for backend in ("sqlite", "postgresql"):
        f = figures.get(backend)
        if f:
            lines.append(
                f"{backend:10} {f['invoices']} invoices: {f['invoices_per_s']} inv/s, "
                f"{f['entries_per_s']} entries/s ({f['journal_entries']} in {f['ingest_s']} s)  "
                f"raw {f['raw_db_entries_per_s']} entries/s  ratio {f['entries_vs_raw_db_ratio']}"
            )
    for backend, reason in (figures.get("skipped") or {}).items():
        lines.append(f"{backend}: skipped ({reason})")
    return lines


def main() -> None:
    """Run alone: `python -m bench.ledger_posting --invoices 10000 --backends sqlite`."""
    parser = argparse.ArgumentParser(prog="python -m bench.ledger_posting")
    parser.add_argument("--invoices", type=int, default=None)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the consumer")
    args = parser.parse_args()
    invoices = args.invoices or _invoices(args.quick)
    names = [b.strip() for b in args.backends.split(",")]
    if args.profile:

        async def profiled() -> dict[str, Any]:
            with backends(with_postgres="postgresql" in names) as (found, _skipped):
                backend = next(b for b in found if b.name == names[0])
                return await _run_backend(backend, invoices, profile=True)

        result = asyncio.run(profiled())
        print(result.pop("profile"))
        print(json.dumps(result, indent=2))
        return
    print(json.dumps(asyncio.run(_run(invoices, names)), indent=2))


if __name__ == "__main__":
    main()
