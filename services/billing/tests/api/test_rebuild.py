"""Billing's projections (schedules, documents, runs, numbers) are a pure fold of its own
event store: a rebuild leaves the state digest and what the API shows unchanged."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from billing.store.tables import (
    billed_lines,
    billing_accounts,
    billing_orders,
    document_numbers,
    invoice_settlements,
    invoices,
    subscriptions,
)
from billing_feed import (
    ADMIN,
    OPS,
    READER,
    OrderFeed,
    bill_run,
    billing_database,
    credit_notes,
    item,
    schedules,
    serving_billing_from_now,
    wait_for_schedule_state,
    wait_for_schedules,
)
from billing_feed import (
    invoices as invoices_of,
)
from revline_events.replay import rebuild_projections
from revline_testkit.broker import TansuBroker
from revline_testkit.live import LiveService
from revline_testkit.topics import caught_up, unique
from revline_testkit.waiting import eventually
from sqlalchemy import delete, func, select, update

YEAR_START, YEAR_END = date(2026, 1, 1), date(2026, 12, 31)
TABLES = [
    "bill_runs", "billed_lines", "billing_accounts", "billing_orders", "credit_notes",
    "document_numbers", "invoice_settlements", "invoices", "quantity_changes",
    "subscription_terms", "subscriptions",
]  # fmt: skip


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def billing_from_now(
    request: pytest.FixtureRequest, tansu: TansuBroker, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveService]:
    """A billing service per module on SQLite, then on PostgreSQL, that takes in only the
    events published after it started (see serving_billing_from_now)."""
    tmp_path = tmp_path_factory.mktemp("billing")
    with billing_database(request, tmp_path) as url:
        async with serving_billing_from_now(url, tansu.bootstrap, tmp_path) as service:
            yield service


@dataclass(frozen=True)
class Books:
    """The accounts a scenario touched, and their bill runs."""

    accounts: list[str]
    runs: list[str]
    paid_invoice: str
    voided_invoice: str


async def _digest(service: LiveService) -> str:
    response = await service.client.get("/v1/admin/state-digest", headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["service"] == "billing"
    assert response.json()["tables"] == TABLES
    digest: str = response.json()["digest"]
    return digest


async def _event_count(service: LiveService) -> int:
    event_store = service.runtime.spec.kernel.event_store
    async with service.runtime.db.session() as session:
        count = await session.execute(select(func.count()).select_from(event_store))
        return int(count.scalar_one())


async def _cli(service: LiveService, command: str) -> str:
    """Run `python -m billing <command>` on the service's database, as ops would."""
    env = {**os.environ, "BILLING_DATABASE_URL": service.runtime.settings.database_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "billing", command, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode().strip()


async def _scenario(service: LiveService, feed: OrderFeed) -> Books:
    """Orders, an amendment, a hold and release, an override, runs, a payment, a void."""
    client = service.client
    seats, held, late = unique("acct"), unique("acct"), unique("acct")
    seat = unique("sub")
    await feed.order(seats, [
        item(seat, quantity=10, unit_price=5000, start=YEAR_START, end=YEAR_END),
        item(unique("sub"), quantity=1, unit_price=25000, start=YEAR_START, end=YEAR_END,
             sku="SETUP", name="Setup", charge_type="one_time"),
    ])  # fmt: skip
    held_order = await feed.order(held, [item(unique("sub"), quantity=5, unit_price=2000,
                                              start=YEAR_START, end=YEAR_END)])  # fmt: skip
    await feed.hold(held, held_order.stream_id, reason="PO missing")
    late_order = await feed.order(late, [item(unique("sub"), quantity=5, unit_price=2000,
                                              start=YEAR_START, end=YEAR_END)])  # fmt: skip
    await feed.override(late, late_order.stream_id, date(2026, 1, 20))
    await wait_for_schedules(service, seats, 2)
    await wait_for_schedule_state(service, held, lambda s: s[0]["next_bill_date"] is None)
    await wait_for_schedule_state(service, late, lambda s: s[0]["next_bill_date"] == "2026-01-20")

    runs = [(await bill_run(client, YEAR_START, a))["id"] for a in (seats, held, late)]
    await feed.order(
        seats,
        [
            item(
                seat,
                quantity=7,
                quantity_delta=-3,
                unit_price=5000,
                start=date(2026, 1, 20),
                end=YEAR_END,
            )
        ],
        kind="amendment",
    )
    await feed.release(held, held_order.stream_id)
    await wait_for_schedule_state(
        service, seats, lambda s: sum(len(x["quantities"]) for x in s) == 3
    )
    await wait_for_schedule_state(service, held, lambda s: s[0]["next_bill_date"] is not None)
    runs += [(await bill_run(client, date(2026, 1, 20), a))["id"] for a in (seats, held, late)]
    runs.append((await bill_run(client, date(2026, 2, 1), seats))["id"])
    first, second = await invoices_of(client, seats)
    await feed.applied(seats, first["id"], 30000)

    async def paid() -> bool:
        shown = await client.get(f"/v1/invoices/{first['id']}", headers=READER)
        return bool(shown.json()["settlements"])

    await eventually(paid, what="the payment")
    voided = await client.post(f"/v1/invoices/{second['id']}/void", json={"reason": "dup"},
                               headers=OPS)  # fmt: skip
    assert voided.status_code == 200, voided.text
    assert len(await credit_notes(client, seats)) == 1
    await caught_up(service)
    return Books([seats, held, late], runs, first["id"], second["id"])


async def _shown(service: LiveService, books: Books) -> list[Any]:
    """Everything the API shows of the scenario's accounts and runs."""
    client = service.client
    shown: list[Any] = []
    for account in books.accounts:
        shown.append(await invoices_of(client, account))
        shown.append(await credit_notes(client, account))
        shown.append(await schedules(client, account))
        upcoming = await client.get(f"/v1/accounts/{account}/upcoming-invoice", headers=READER)
        shown.append(upcoming.json())
    for run_id in books.runs:
        shown.append((await client.get(f"/v1/bill-runs/{run_id}", headers=READER)).json())
    return shown


async def test_rebuild_from_the_cli_leaves_the_digest_and_the_documents_unchanged(
    billing_from_now: LiveService, feed: OrderFeed
) -> None:
    books = await _scenario(billing_from_now, feed)
    before, documents = await _digest(billing_from_now), await _shown(billing_from_now, books)

    rebuilt = json.loads(await _cli(billing_from_now, "rebuild"))

    assert rebuilt == {"service": "billing", "replayed": await _event_count(billing_from_now)}
    assert await _digest(billing_from_now) == before
    assert await _shown(billing_from_now, books) == documents
    seats = documents[0]
    assert [(i["status"], i["amount_paid"]) for i in seats] == [("partially_paid", 30000),
                                                                ("void", 0)]  # fmt: skip


async def test_rebuild_projections_restores_damaged_documents_and_schedules(
    billing_from_now: LiveService, feed: OrderFeed
) -> None:
    books = await _scenario(billing_from_now, feed)
    before, documents = await _digest(billing_from_now), await _shown(billing_from_now, books)
    async with billing_from_now.runtime.db.session() as session, session.begin():
        await session.execute(delete(invoice_settlements))
        await session.execute(delete(billed_lines).where(billed_lines.c.line_no > 1))
        await session.execute(update(invoices).values(status="posted", amount_paid=0))
        await session.execute(update(billing_orders).values(held=True, next_billing_date=None))
        await session.execute(update(subscriptions).values(next_bill_date=None))
        await session.execute(update(billing_accounts).values(next_bill_date=None))
        await session.execute(update(document_numbers).values(last_number=0))
    assert await _digest(billing_from_now) != before

    runtime = billing_from_now.runtime
    replayed = await rebuild_projections(
        runtime.db, runtime.store, runtime.spec.projector, runtime.spec.projections
    )

    assert replayed == await _event_count(billing_from_now)
    assert await _digest(billing_from_now) == before
    assert await _shown(billing_from_now, books) == documents
    # The rebuilt numbering goes on from the last number, gapless.
    seats = books.accounts[0]
    numbers = [i["number"] for i in await invoices_of(billing_from_now.client, seats)]
    run = await bill_run(billing_from_now.client, date(2026, 3, 1), seats)
    after = await invoices_of(billing_from_now.client, seats)
    (march,) = [i for i in after if i["id"] in run["invoice_ids"]]
    last = await _last_invoice_number(billing_from_now)
    assert march["number"] == last and march["number"] > max(numbers)
    assert int(march["number"].split("-")[1]) == await _invoice_count(billing_from_now)


async def _last_invoice_number(service: LiveService) -> str:
    async with service.runtime.db.session() as session:
        stmt = select(func.max(invoices.c.number))
        found: str = (await session.execute(stmt)).scalar_one()
        return found


async def _invoice_count(service: LiveService) -> int:
    async with service.runtime.db.session() as session:
        stmt = select(func.count()).select_from(invoices)
        return int((await session.execute(stmt)).scalar_one())
