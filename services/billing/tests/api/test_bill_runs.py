"""Bill runs over HTTP on a real broker and database: W9, reruns, holds, credit notes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from billing_feed import (
    OPS,
    OrderFeed,
    bill_run,
    billing_database,
    credit_notes,
    invoices,
    item,
    lines,
    schedules,
    serving_billing_from_now,
    wait_for_schedules,
)
from revline_testkit.broker import TansuBroker
from revline_testkit.live import LiveService
from revline_testkit.topics import unique
from revline_testkit.waiting import eventually

from conftest import serving_billing

YEAR_START, YEAR_END = date(2026, 1, 1), date(2026, 12, 31)


async def test_w9_upgrade_mid_period_bills_a_proration_then_the_new_quantity(
    billing_service: LiveService, feed: OrderFeed
) -> None:
    account, sub = unique("acct"), unique("sub")
    seats = item(sub, quantity=10, unit_price=5000, start=YEAR_START, end=YEAR_END)
    await feed.order(account, [seats])
    await wait_for_schedules(billing_service, account, 1)
    client = billing_service.client

    march = await bill_run(client, date(2026, 3, 1), account)
    more = item(sub, quantity=15, quantity_delta=5, unit_price=5000,
                start=date(2026, 3, 11), end=YEAR_END)  # fmt: skip
    await feed.order(account, [more], kind="amendment")
    await _wait_quantities(billing_service, account, 2)
    upgrade = await bill_run(client, date(2026, 3, 11), account)
    april = await bill_run(client, date(2026, 4, 1), account)

    found = await invoices(client, account)
    assert [i["id"] for i in found] == march["invoice_ids"] + upgrade["invoice_ids"] + april[
        "invoice_ids"
    ]
    assert lines(found[1]) == [("proration", 5, "2026-03-11", "2026-03-31", 16935)]
    assert (found[1]["invoice_date"], found[1]["due_date"]) == ("2026-03-11", "2026-04-10")
    assert lines(found[2]) == [("recurring", 15, "2026-04-01", "2026-04-30", 75000)]
    source = found[1]["lines"][0]["source"]
    assert (source["days"], source["nominal_days"]) == (21, 31)
    assert source["formula"] == "5000 x 5 x 21/31 = 16935.48 -> 16935"


async def test_a_rerun_and_concurrent_runs_bill_nothing_twice(
    billing_service: LiveService, feed: OrderFeed
) -> None:
    account = unique("acct")
    await feed.order(account, [item(unique("sub"), quantity=2, unit_price=3000,
                                    start=YEAR_START, end=YEAR_END)])  # fmt: skip
    await wait_for_schedules(billing_service, account, 1)
    client = billing_service.client

    runs = await asyncio.gather(*(bill_run(client, date(2026, 2, 1), account) for _ in range(4)))
    rerun = await bill_run(client, date(2026, 2, 1), account)

    assert sum(len(r["invoice_ids"]) for r in runs) == 1
    assert rerun["invoice_ids"] == []
    (invoice,) = await invoices(client, account)
    assert lines(invoice) == [
        ("recurring", 2, "2026-01-01", "2026-01-31", 6000),
        ("recurring", 2, "2026-02-01", "2026-02-28", 6000),
    ]


async def test_the_same_key_sent_twice_at_once_answers_the_finished_run_twice(
    billing_service: LiveService, feed: OrderFeed
) -> None:
    # Found by the write-burst load test: the replayed request found the run's only
    # batch held by the first request (SKIP LOCKED) and answered 201 while it ran,
    # with no invoice ids, though a 201 promises a finished run.
    accounts = [unique("acct") for _ in range(3)]
    for account in accounts:
        await feed.order(account, [item(unique("sub"), quantity=2, unit_price=3000,
                                        start=YEAR_START, end=YEAR_END)])  # fmt: skip
    for account in accounts:
        await wait_for_schedules(billing_service, account, 1)
    client = billing_service.client

    for account in accounts:
        key = {"Idempotency-Key": unique("run")}
        first, second = await asyncio.gather(
            bill_run(client, date(2026, 1, 1), account, **key),
            bill_run(client, date(2026, 1, 1), account, **key),
        )

        (invoice,) = await invoices(client, account)
        assert first == second
        assert (first["status"], first["invoice_ids"]) == ("completed", [invoice["id"]])


async def test_a_run_asked_to_respond_async_answers_202_and_bills_in_the_background(
    billing_service: LiveService, feed: OrderFeed
) -> None:
    account = unique("acct")
    await feed.order(account, [item(unique("sub"), quantity=3, unit_price=1000,
                                    start=YEAR_START, end=YEAR_END)])  # fmt: skip
    await wait_for_schedules(billing_service, account, 1)
    client = billing_service.client
    body = {"as_of": "2026-02-01", "account_id": account}

    started = await client.post("/v1/bill-runs", json=body,
                                headers={**OPS, "Prefer": "respond-async"})  # fmt: skip

    assert started.status_code == 202, started.text
    run = started.json()
    assert (run["status"], run["invoice_ids"]) == ("running", [])
    assert started.headers["location"] == f"/v1/bill-runs/{run['id']}"
    assert started.headers["preference-applied"] == "respond-async"

    async def completed() -> dict[str, Any] | None:
        shown = (await client.get(started.headers["location"], headers=OPS)).json()
        return shown if shown["status"] == "completed" else None

    done = await eventually(completed, within=15, what="the run to complete")
    (invoice,) = await invoices(client, account)
    assert done["invoice_ids"] == [invoice["id"]]
    assert lines(invoice) == [
        ("recurring", 3, "2026-01-01", "2026-01-31", 3000),
        ("recurring", 3, "2026-02-01", "2026-02-28", 3000),
    ]
    assert (await bill_run(client, date(2026, 2, 1), account))["invoice_ids"] == []


@pytest.fixture(params=["sqlite", "postgresql"])
async def billing_in_small_batches(
    request: pytest.FixtureRequest, tansu: TansuBroker, tmp_path: Path
) -> AsyncIterator[LiveService]:
    """A billing service of its own (batches of 2 accounts) that sees only new orders."""
    with billing_database(request, tmp_path) as url:
        async with serving_billing_from_now(url, tansu.bootstrap, tmp_path,
                                            bill_run_batch_size=2) as service:  # fmt: skip
            yield service


async def test_overlapping_runs_over_all_accounts_and_one_bill_each_account_once(
    billing_in_small_batches: LiveService, feed: OrderFeed
) -> None:
    service = billing_in_small_batches
    accounts = sorted(unique("overlap") for _ in range(7))
    for account in accounts:
        await feed.order(account, [item(unique("sub"), quantity=1, unit_price=900,
                                        start=YEAR_START, end=YEAR_END)])  # fmt: skip
    for account in accounts:
        await wait_for_schedules(service, account, 1)
    client = service.client
    february = date(2026, 2, 1)

    runs = await asyncio.gather(
        bill_run(client, february), bill_run(client, february, accounts[0]),
        bill_run(client, february), bill_run(client, february, accounts[5]),
    )  # fmt: skip

    issued = [i for run in runs for i in run["invoice_ids"]]
    assert len(issued) == len(set(issued)) == len(accounts)
    numbers = []
    for account in accounts:
        (invoice,) = await invoices(client, account)
        assert lines(invoice) == [
            ("recurring", 1, "2026-01-01", "2026-01-31", 900),
            ("recurring", 1, "2026-02-01", "2026-02-28", 900),
        ]
        numbers.append(int(invoice["number"].split("-")[1]))
    assert sorted(numbers) == list(range(min(numbers), min(numbers) + len(accounts)))


async def test_w13_termination_with_credit_issues_a_credit_note(
    billing_service: LiveService, feed: OrderFeed
) -> None:
    account, sub = unique("acct"), unique("sub")
    await feed.order(account, [item(sub, quantity=2, unit_price=120000, start=YEAR_START,
                                    end=YEAR_END, billing_period="year")])  # fmt: skip
    await wait_for_schedules(billing_service, account, 1)
    client = billing_service.client
    await bill_run(client, YEAR_START, account)
    ended = item(sub, quantity=0, quantity_delta=-2, unit_price=120000, start=date(2026, 9, 1),
                 end=YEAR_END, billing_period="year")  # fmt: skip
    await feed.order(
        account,
        [ended],
        kind="termination",
        contract_end_date=date(2026, 8, 31),
        credit_unused=True,
    )
    await _wait_quantities(billing_service, account, 2)

    run = await bill_run(client, date(2026, 9, 1), account)

    (note,) = await credit_notes(client, account)
    assert run["credit_note_ids"] == [note["id"]] and run["invoice_ids"] == []
    assert note["total"] == 80219
    assert lines(note) == [("credit", 2, "2026-09-01", "2026-12-31", -80219)]


async def test_void_refuses_a_paid_invoice_and_keeps_the_number(
    billing_service: LiveService, feed: OrderFeed
) -> None:
    account = unique("acct")
    await feed.order(account, [item(unique("sub"), quantity=1, unit_price=1000,
                                    start=YEAR_START, end=YEAR_END)])  # fmt: skip
    await wait_for_schedules(billing_service, account, 1)
    client = billing_service.client
    await bill_run(client, YEAR_START, account)
    await bill_run(client, date(2026, 2, 1), account)
    first, second = await invoices(client, account)

    await feed.applied(account, first["id"], 400)

    async def paid_partly() -> bool:
        shown = (await client.get(f"/v1/invoices/{first['id']}", headers=OPS)).json()
        return shown["status"] == "partially_paid"

    await eventually(paid_partly, within=15)
    refused = await client.post(f"/v1/invoices/{first['id']}/void", headers=OPS)
    voided = await client.post(f"/v1/invoices/{second['id']}/void", json={"reason": "dup"},
                               headers=OPS)  # fmt: skip

    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert voided.status_code == 200, voided.text
    body = voided.json()
    assert (body["status"], body["number"], body["amount_due"]) == ("void", second["number"], 0)
    assert (await bill_run(client, date(2026, 2, 1), account))["invoice_ids"] == []

    await feed.applied(account, first["id"], 600)

    async def paid_in_full() -> bool:
        shown = (await client.get(f"/v1/invoices/{first['id']}", headers=OPS)).json()
        return (shown["status"], shown["amount_paid"], shown["amount_due"]) == ("paid", 1000, 0)

    await eventually(paid_in_full, within=15)


async def test_a_downgrade_inside_a_voided_month_credits_nothing(
    billing_service: LiveService, feed: OrderFeed
) -> None:
    account, sub = unique("acct"), unique("sub")
    await feed.order(account, [item(sub, quantity=10, unit_price=5000, start=date(2026, 3, 1),
                                    end=YEAR_END)])  # fmt: skip
    await wait_for_schedules(billing_service, account, 1)
    client = billing_service.client
    (march,) = (await bill_run(client, date(2026, 3, 1), account))["invoice_ids"]
    voided = await client.post(f"/v1/invoices/{march}/void", headers=OPS)
    assert voided.status_code == 200, voided.text
    less = item(sub, quantity=7, quantity_delta=-3, unit_price=5000, start=date(2026, 3, 20),
                end=YEAR_END)  # fmt: skip
    await feed.order(account, [less], kind="amendment")
    await _wait_quantities(billing_service, account, 2)

    downgrade = await bill_run(client, date(2026, 3, 20), account)
    april = await bill_run(client, date(2026, 4, 1), account)

    assert (downgrade["invoice_ids"], downgrade["credit_note_ids"]) == ([], [])
    assert await credit_notes(client, account) == []
    (_, invoice) = await invoices(client, account)
    assert invoice["id"] == april["invoice_ids"][0]
    assert lines(invoice) == [("recurring", 7, "2026-04-01", "2026-04-30", 35000)]


async def _wait_quantities(service: LiveService, account: str, count: int) -> None:
    async def probe() -> bool:
        found = await schedules(service.client, account)
        return sum(len(s["quantities"]) for s in found) >= count

    await eventually(probe, within=15)


async def test_a_run_bills_its_accounts_in_batches_of_the_configured_size(
    tansu: TansuBroker, tmp_path: Path, feed: OrderFeed
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'billing.db'}"
    accounts = sorted(unique("batch") for _ in range(5))
    async with serving_billing(url, tansu.bootstrap, tmp_path, bill_run_batch_size=2) as service:
        for account in accounts:
            await feed.order(account, [item(unique("sub"), quantity=1, unit_price=700,
                                            start=YEAR_START, end=YEAR_END)])  # fmt: skip
        for account in accounts:
            await wait_for_schedules(service, account, 1)

        run = await bill_run(service.client, YEAR_START)
        # The service read order.events from the start: other tests' accounts are due too.
        billed_accounts = set()
        for path in ("/v1/invoices", "/v1/credit-notes"):
            listed = await service.client.get(
                path, params={"bill_run_id": run["id"], "limit": 500}, headers=OPS
            )
            billed_accounts |= {d["account_id"] for d in listed.json()["data"]}

    assert run["status"] == "completed"
    assert set(accounts) <= billed_accounts
    batches = -(-len(billed_accounts) // 2)
    assert run["batches"] == {"total": batches, "done": batches}
