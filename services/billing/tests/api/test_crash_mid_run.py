"""A bill run survives a crash: kill -9 mid-run, restart, the run finishes exactly once.

billing runs as a real child process (`python -m billing serve`, ServiceProcess)
with small batches (5 accounts per transaction). Its accounts are scheduled
from OrderActivated events on `order.events`; a bill run is started over HTTP
and the process is killed outright once the run's first invoices exist. The
database then holds a half-done run (some batches committed, the rest not).
The restarted process's `resume_bill_runs` worker finishes it: every account
billed exactly once with the right amount, invoice numbers gapless, the run
completed, each invoice announced once (by event id) on `billing.events`, and
a rerun bills nothing. On SQLite (a file) and PostgreSQL.

The broker is the session's: `order.events` may also hold other tests' orders,
which this service (a consumer group of its own) schedules and bills too. The
per-account checks are on this test's accounts; numbering and run totals are
checked over everything in the (fresh) database.

The last test pins the batch split itself: BILL_RUN_BATCH_SIZE accounts per
batch, in account order, numbered 0, 1, 2 (`position / batch_size` is true
division in SQLAlchemy 2: SQLite kept 0.2, 0.4, ..., one account per batch;
PostgreSQL rounded, batches of 3, 5, 5, ...).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from billing.handlers.bill_runs import start_bill_run
from billing.main import SPEC
from billing.settings import BillingSettings
from billing.store.tables import bill_run_accounts, bill_run_batches, bill_runs, invoices
from billing_feed import BILLING_EVENTS, OPS, READER, OrderFeed, item
from revline_events.catalogue import CATALOGUE, make_envelope
from revline_events.clock import FixedClock
from revline_events.payloads.order import OrderActivated
from revline_service.migrations import upgrade
from revline_service.service import Runtime
from revline_testkit.broker import TansuBroker
from revline_testkit.live import ServiceProcess, TopicReader, api_keys_setting, client_tls
from revline_testkit.postgres import PostgresError, ThrowawayPostgres
from revline_testkit.topics import unique
from revline_testkit.waiting import eventually
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

ACCOUNTS = 200
BATCH_SIZE = 5
AS_OF = date(2026, 1, 1)
YEAR_END = date(2026, 12, 31)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh billing database: a SQLite file, or a database on the session's PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'billing.db'}"
        return
    server: ThrowawayPostgres = request.getfixturevalue("postgres_server")
    name = f"crash_{uuid.uuid4().hex}"
    url = server.create_database(name)
    yield url
    with contextlib.suppress(PostgresError):  # the cluster goes at session end anyway
        server.drop_database(name)


def _env(database_url: str, bootstrap: str, tmp_path: Path) -> dict[str, str]:
    return {
        "BILLING_DATABASE_URL": database_url,
        "BILLING_KAFKA_BOOTSTRAP": bootstrap,
        "BILLING_API_KEYS": api_keys_setting(),
        "BILLING_DEV_KEYS_FILE": str(tmp_path / "dev-keys.json"),
        "BILLING_CONSUMER_GROUP": f"billing-crash-{uuid.uuid4().hex[:12]}",
        "BILLING_CONSUMER_SESSION_TIMEOUT_MS": "2000",
        "BILLING_BILL_RUN_BATCH_SIZE": str(BATCH_SIZE),
        "BILLING_LOG_LEVEL": "INFO",
    }


@contextlib.asynccontextmanager
async def _running(
    env: dict[str, str], log_path: Path
) -> AsyncIterator[tuple[ServiceProcess, httpx.AsyncClient]]:
    process = ServiceProcess("billing", env, log_path=log_path)
    process.start()
    try:
        await process.wait_ready(within=60)
        async with httpx.AsyncClient(
            verify=client_tls(), base_url=process.base_url, timeout=120
        ) as client:
            yield process, client
    finally:
        process.stop()


def _expected(n: int) -> tuple[int, int]:
    """Quantity and unit price of the n-th account's seats (amounts differ between accounts)."""
    return 1 + n % 7, 1000 + 10 * n


async def _all_pages(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": 500, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=query, headers=READER)
        assert response.status_code == 200, response.text
        body = response.json()
        rows += body["data"]
        cursor = body["next_cursor"]
        if cursor is None:
            return rows


async def _stored(database_url: str) -> tuple[list[str], list[str], list[str]]:
    """With the process dead: the accounts invoiced, the accounts of the run's batches
    marked done, and the statuses of the runs."""
    engine = create_async_engine(database_url)
    done = select(bill_run_accounts.c.account_id).join(
        bill_run_batches,
        (bill_run_batches.c.bill_run_id == bill_run_accounts.c.bill_run_id)
        & (bill_run_batches.c.batch_no == bill_run_accounts.c.batch_no),
    )
    try:
        async with engine.connect() as conn:
            invoiced = list((await conn.execute(select(invoices.c.account_id))).scalars())
            in_done = list(
                (await conn.execute(done.where(bill_run_batches.c.done.is_(True)))).scalars()
            )
            statuses = list((await conn.execute(select(bill_runs.c.status))).scalars())
    finally:
        await engine.dispose()
    return sorted(invoiced), sorted(in_done), statuses


async def test_a_bill_run_killed_mid_run_resumes_on_restart_and_bills_each_account_once(
    database_url: str, tansu: TansuBroker, feed: OrderFeed, tmp_path: Path
) -> None:
    env = _env(database_url, tansu.bootstrap, tmp_path)
    prefix = unique("crash")
    accounts = [f"{prefix}-{n:04d}" for n in range(ACCOUNTS)]

    # 1. Schedule every account, then start a run and kill the process in the middle of it.
    async with _running(env, tmp_path / "billing-1.log") as (first, client):
        for n, account in enumerate(accounts):
            quantity, price = _expected(n)
            seats = item(unique("sub"), quantity=quantity, unit_price=price,
                         start=AS_OF, end=YEAR_END)  # fmt: skip
            await feed.order(account, [seats])

        async def scheduled() -> bool:
            rows = await _all_pages(client, "/v1/billing-schedules")
            return sum(r["account_id"].startswith(prefix) for r in rows) == ACCOUNTS

        await eventually(scheduled, within=90, interval=0.2, what="every account scheduled")

        run = asyncio.create_task(
            client.post("/v1/bill-runs", json={"as_of": AS_OF.isoformat()}, headers=OPS)
        )

        async def some_invoice() -> bool:
            assert not run.done(), "the run finished before the kill"
            response = await client.get("/v1/invoices", params={"limit": 1}, headers=READER)
            return response.status_code == 200 and bool(response.json()["data"])

        await eventually(some_invoice, within=60, interval=0.005, what="a first invoice")
        first.kill()
        with pytest.raises(httpx.TransportError):
            await run

    # The crash left a half-done run behind: whole batches, each billed with its done mark.
    invoiced, in_done_batches, statuses = await _stored(database_url)
    assert statuses == ["running"]
    assert 0 < len(invoiced) < ACCOUNTS
    assert invoiced == in_done_batches

    # 2. Restart on the same database: the resume worker finishes the run.
    async with _running(env, tmp_path / "billing-2.log") as (_second, client):

        async def completed() -> dict[str, Any] | None:
            (found,) = await _all_pages(client, "/v1/bill-runs")
            return found if found["status"] == "completed" else None

        found_run = await eventually(completed, within=120, interval=0.1, what="run completed")
        assert found_run["as_of"] == AS_OF.isoformat()

        every_invoice = await _all_pages(client, "/v1/invoices")
        credit_notes = await _all_pages(client, "/v1/credit-notes")
        response = await client.get(f"/v1/bill-runs/{found_run['id']}", headers=READER)
        assert response.status_code == 200, response.text
        detail = response.json()

        # Each of this test's accounts: exactly one invoice, for the right amount.
        mine = [i for i in every_invoice if i["account_id"].startswith(prefix)]
        assert sorted(i["account_id"] for i in mine) == accounts
        for invoice in mine:
            quantity, price = _expected(accounts.index(invoice["account_id"]))
            assert invoice["total"] == quantity * price
            assert invoice["bill_run_id"] == found_run["id"]
            assert [(x["kind"], x["quantity"], x["period_start"], x["period_end"], x["amount"])
                    for x in invoice["lines"]] == [
                ("recurring", quantity, "2026-01-01", "2026-01-31", quantity * price)
            ]  # fmt: skip

        # Everything in the database: one document per account, numbers gapless.
        per_account = Counter(i["account_id"] for i in every_invoice)
        assert max(per_account.values()) == 1
        numbers = [i["number"] for i in every_invoice]
        assert numbers == [f"INV-{n:06d}" for n in range(1, len(every_invoice) + 1)]
        assert detail["invoice_count"] == len(every_invoice) == len(detail["invoice_ids"])
        assert detail["credit_note_count"] == len(credit_notes)
        assert set(detail["invoice_ids"]) == {i["id"] for i in every_invoice}

        # billing.events: each invoice announced by one event (a redelivery repeats its id).
        async with TopicReader(tansu.bootstrap, BILLING_EVENTS) as reader:

            def all_posted(envelopes: list[Any]) -> bool:
                ids = {e.stream_id for e in envelopes if e.type == "InvoicePosted"}
                return {i["id"] for i in mine} <= ids

            envelopes = await reader.read_until(all_posted, within=60)
        posted = {
            e.event_id: e.stream_id
            for e in envelopes
            if e.type == "InvoicePosted" and e.account_id.startswith(prefix)
        }
        assert sorted(posted.values()) == sorted(i["id"] for i in mine)

        # The log shows the resume, and a rerun bills nothing.
        assert f"resuming bill run {found_run['id']}" in (tmp_path / "billing-2.log").read_text()
        rerun = await client.post("/v1/bill-runs", json={"as_of": AS_OF.isoformat()}, headers=OPS)
        assert rerun.status_code == 201, rerun.text
        assert rerun.json()["invoice_ids"] == [] and rerun.json()["credit_note_ids"] == []
        again = await _all_pages(client, "/v1/invoices")
        assert [i["id"] for i in again] == [i["id"] for i in every_invoice]


async def test_a_run_splits_its_accounts_into_batches_of_the_batch_size(
    db_url: str, tmp_path: Path
) -> None:
    """12 accounts with batch size 5: batches 0, 1, 2 of 5, 5 and 2 accounts, in id order."""
    settings = BillingSettings(database_url=db_url, kafka_bootstrap="127.0.0.1:9", api_keys="k:ops")
    clock = FixedClock(datetime(2026, 1, 1, 6, 0, tzinfo=UTC))
    runtime = Runtime(SPEC, settings, clock)  # nothing started: no broker needed
    await upgrade(SPEC.alembic_dir, db_url)
    activated = runtime.spec.reactions.batch_handlers(CATALOGUE)["OrderActivated"]
    prefix = unique("batch")
    accounts = [f"{prefix}-{n:02d}" for n in range(12)]
    try:
        async with runtime.uow() as uow:
            for account in accounts:
                event = OrderActivated(
                    order_id=f"{account}-ord", contract_id="c", account_id=account, kind="new",
                    currency="USD", effective_date=AS_OF, bill_cycle_day=1,
                    billing_timing="advance", contract_end_date=YEAR_END, credit_unused=False,
                    items=[item(f"{account}-sub", quantity=1, unit_price=100, start=AS_OF,
                                end=YEAR_END)],
                )  # fmt: skip
                envelope = make_envelope(
                    event, stream_id=event.order_id, stream_version=1, account_id=account,
                    producer="order", clock=clock,
                )  # fmt: skip
                await activated(uow, [(envelope, event)])
            await uow.commit()
        async with runtime.uow() as uow:
            run_id = await start_bill_run(uow, AS_OF, None, batch_size=BATCH_SIZE)
            await uow.commit()
        async with runtime.db.session() as session:
            rows = (
                await session.execute(
                    select(bill_run_accounts.c.account_id, bill_run_accounts.c.batch_no)
                    .where(bill_run_accounts.c.bill_run_id == run_id)
                    .order_by(bill_run_accounts.c.account_id)
                )
            ).all()
            batches = (
                await session.execute(
                    select(bill_run_batches.c.batch_no)
                    .where(bill_run_batches.c.bill_run_id == run_id)
                    .order_by(bill_run_batches.c.batch_no)
                )
            ).scalars()
            batch_numbers = list(batches)
    finally:
        await runtime.db.dispose()
    assert [(a, b) for a, b in rows] == [(a, n // BATCH_SIZE) for n, a in enumerate(accounts)]
    assert batch_numbers == [0, 1, 2]
