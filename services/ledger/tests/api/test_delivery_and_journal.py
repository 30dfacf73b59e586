"""At-least-once delivery, one effect; poison to the DLQ; an append-only journal; rebuild."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest
from ledger.store.tables import APPEND_ONLY, journal_entries
from ledger_feed import (
    BILLING_DLQ,
    BILLING_EVENTS,
    BillingFeed,
    billed,
    f1_invoices,
    wait_for_entries,
    written,
)
from ledger_feed import (
    journal_entries as entries_of,
)
from revline_events.payloads.billing import InvoicePosted
from revline_testkit.live import LiveService, auth
from revline_testkit.topics import RawTopicReader, Record, caught_up, header, unique
from sqlalchemy import ColumnElement, Table, delete, func, select, update
from sqlalchemy.exc import DBAPIError

ADMIN = auth("admin")


def _from_ledger(record: Record) -> bool:
    return header(record, "consumer") == "ledger"


async def test_a_redelivered_invoice_is_posted_once(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    account = unique("acme")
    first, second, third = f1_invoices(feed, account)
    for envelope in (first, first, second, first, third, second):
        await feed.send(envelope)
    # Same key, same partition: once a later event is handled, every copy before it was.
    marker = feed.invoice(account, "INV-9", "2026-03-02", "2026-04-01",
                          billed("one_time", 100, "2026-03-02"))  # fmt: skip
    await feed.send(marker)

    entries = await wait_for_entries(ledger_service.client, account, 7)
    await caught_up(ledger_service)

    entries = await entries_of(ledger_service.client, account_id=account)
    assert [e["kind"] for e in entries].count("invoice_posted") == 4
    assert len(entries) == 7  # F1's six, and INV-9's posting


async def test_a_void_reverses_the_posting_and_its_recognition(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    account = unique("acme")
    posted = feed.invoice(account, "INV-1", "2026-01-15", "2026-02-14",
                          billed("one_time", 25000, "2026-01-15"),
                          billed("recurring", 24677, "2026-01-15", "2026-01-31"))  # fmt: skip
    nudge = feed.invoice(account, "INV-2", "2026-02-01", "2026-03-03",
                         billed("recurring", 45000, "2026-02-01", "2026-02-28"))  # fmt: skip
    for envelope in (posted, nudge, feed.void(posted, "2026-02-10")):
        await feed.send(envelope)

    entries = await wait_for_entries(ledger_service.client, account, 5)

    assert [written(e) for e in entries] == [
        ("2026-01-15", "Dr 1100 49677; Cr 2100 24677; Cr 4100 25000"),
        ("2026-01-31", "Dr 2100 24677; Cr 4000 24677"),  # recognised when INV-2 posted
        ("2026-02-01", "Dr 1100 45000; Cr 2100 45000"),
        ("2026-02-10", "Dr 2100 24677; Dr 4100 25000; Cr 1100 49677"),
        ("2026-02-10", "Dr 4000 24677; Cr 2100 24677"),
    ]
    assert [e["kind"] for e in entries[3:]] == ["invoice_voided", "recognition_reversed"]
    assert entries[4]["service_month"] == "2026-01-01"


async def test_a_credit_note_pays_open_invoices_and_keeps_the_rest_as_credit(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    account = unique("acme")
    small = feed.invoice(account, "INV-1", "2026-03-01", "2026-03-31",
                         billed("one_time", 3000, "2026-03-01"))  # fmt: skip
    note = feed.credit_note(account, "CN-1", "2026-03-20",
                            billed("credit", -5806, "2026-03-20", "2026-03-31"))  # fmt: skip
    await feed.send(small)
    await feed.send(note)

    entries = await wait_for_entries(ledger_service.client, account, 2)

    assert written(entries[1]) == ("2026-03-20", "Dr 2100 5806; Cr 1100 3000; Cr 2200 2806")
    assert entries[1]["concerns"] == {
        "kind": "credit_note", "id": note.payload["credit_note_id"], "line_no": None,
    }  # fmt: skip


async def test_a_void_of_an_unknown_invoice_goes_to_the_dlq_with_the_reason(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    account = unique("acme")
    never_booked = feed.invoice(account, "INV-0", "2026-01-01", "2026-01-31",
                                billed("one_time", 500, "2026-01-01"))  # fmt: skip
    orphan = feed.void(never_booked, "2026-01-05")
    await feed.send(orphan)
    after = feed.invoice(account, "INV-1", "2026-01-02", "2026-02-01",
                         billed("one_time", 700, "2026-01-02"))  # fmt: skip
    await feed.send(after)

    async with RawTopicReader(ledger_service.runtime.settings.kafka_bootstrap, BILLING_DLQ) as dlq:
        parked = await dlq.first(lambda r: r.value == orphan.to_bytes() and _from_ledger(r))

    assert header(parked, "source_topic") == BILLING_EVENTS
    unknown = never_booked.payload["invoice_id"]
    assert header(parked, "error") == f"UnknownInvoice: no invoice {unknown}"
    entries = await wait_for_entries(ledger_service.client, account, 1)
    assert [written(e) for e in entries] == [("2026-01-02", "Dr 1100 700; Cr 4100 700")]


async def test_an_invoice_whose_figures_do_not_hold_goes_to_the_dlq_alone(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    account = unique("acme")
    good = feed.invoice(account, "INV-1", "2026-01-02", "2026-02-01",
                        billed("one_time", 700, "2026-01-02"))  # fmt: skip
    bad = feed.invoice(account, "INV-2", "2026-01-03", "2026-02-02",
                       billed("recurring", -700, "2026-01-03", "2026-01-31"))  # fmt: skip
    also_good = feed.invoice(account, "INV-3", "2026-01-04", "2026-02-03",
                             billed("one_time", 900, "2026-01-04"))  # fmt: skip
    # One fetch, likely one batch: the batch fails, is retried record by record.
    for envelope in (good, bad, also_good):
        await feed.send(envelope)

    async with RawTopicReader(ledger_service.runtime.settings.kafka_bootstrap, BILLING_DLQ) as dlq:
        parked = await dlq.first(lambda r: r.value == bad.to_bytes() and _from_ledger(r))

    assert header(parked, "error").startswith("InvalidDocument: ")
    entries = await wait_for_entries(ledger_service.client, account, 2)
    await caught_up(ledger_service)
    entries = await entries_of(ledger_service.client, account_id=account)
    assert [written(e) for e in entries] == [
        ("2026-01-02", "Dr 1100 700; Cr 4100 700"),
        ("2026-01-04", "Dr 1100 900; Cr 4100 900"),
    ]
    assert InvoicePosted.model_validate(bad.payload).invoice_id not in {
        e["concerns"]["id"] for e in entries
    }


async def _count(service: LiveService, table: Table, where: ColumnElement[bool]) -> int:
    async with service.runtime.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(table).where(where)) or 0)


@pytest.mark.parametrize("table", APPEND_ONLY, ids=[t.name for t in APPEND_ONLY])
async def test_the_database_refuses_to_update_or_delete_the_journal(
    ledger_service: LiveService, feed: BillingFeed, table: Table
) -> None:
    account = unique("acme")
    await feed.send(feed.invoice(account, "INV-1", "2026-01-02", "2026-02-01",
                                 billed("one_time", 700, "2026-01-02")))  # fmt: skip
    await wait_for_entries(ledger_service.client, account, 1)
    mine = table.c.entry_id.in_(
        select(journal_entries.c.entry_id).where(journal_entries.c.account_id == account)
    )
    rows = await _count(ledger_service, table, mine)
    assert rows >= 1

    for statement in (
        update(table).where(mine).values(entry_date=table.c.entry_date),
        delete(table).where(mine),
        delete(table),
    ):
        async with ledger_service.runtime.db.session() as session:
            with pytest.raises(DBAPIError, match="append only"):
                async with session.begin():
                    await session.execute(statement)

    assert await _count(ledger_service, table, mine) == rows


async def _cli(service: LiveService, command: str) -> str:
    """Run `python -m ledger <command>` on the service's database, as ops would."""
    env = {**os.environ, "LEDGER_DATABASE_URL": service.runtime.settings.database_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ledger", command, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode().strip()


async def _digest(service: LiveService) -> str:
    response = await service.client.get("/v1/admin/state-digest", headers=ADMIN)
    assert response.status_code == 200, response.text
    digest: str = response.json()["digest"]
    return digest


async def test_rebuild_from_the_cli_refolds_the_journal_to_the_same_digest(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    account = unique("acme")
    for envelope in f1_invoices(feed, account):
        await feed.send(envelope)
    await wait_for_entries(ledger_service.client, account, 6)
    await caught_up(ledger_service)
    before = await _digest(ledger_service)

    rebuilt = json.loads(await _cli(ledger_service, "rebuild"))

    assert rebuilt["service"] == "ledger" and rebuilt["replayed"] > 0
    assert await _digest(ledger_service) == before
    assert len(await entries_of(ledger_service.client, account_id=account)) == 6
