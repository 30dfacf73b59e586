"""The daily totals the reports read equal the journal's own sums (also once migration 0004
filled them from an existing journal); the CSVs that grow with the data stream by pages."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from alembic import command
from ledger.api import report_csv
from ledger.bookkeeping import Fact, apply_fact
from ledger.domain.book import AccountBook
from ledger.main import SPEC
from ledger.store.journal import Journal
from ledger.store.projector import PROJECTOR
from ledger.store.receivables import Receivables
from ledger.store.tables import journal_entries, journal_lines, subledger_moves
from ledger.translation import entry_posted
from ledger_feed import FINANCE, BillingFeed, billed, unused_currency, wait_for_entries
from revline_events.catalogue import EventPayload, make_envelope
from revline_events.clock import FixedClock
from revline_events.database import Database
from revline_events.payloads.ledger import (
    BookedLine,
    InvoiceBooked,
    PaymentReceived,
    RevenueRecognisedThrough,
)
from revline_service.migrations import alembic_config, upgrade
from revline_testkit.live import LiveService
from revline_testkit.topics import caught_up, unique
from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

D = date.fromisoformat
AS_OF_DATES = ("2026-01-01", "2026-01-31", "2026-02-15", "2026-03-31", "2026-06-30", "9999-12-31")


async def _books(service: LiveService, feed: BillingFeed, currency: str) -> list[str]:
    """Three accounts in `currency`: invoices over two months (recurring and one-time), a
    payment, a credit note, a void of a recognised invoice and a recognition run; returns
    the accounts."""
    accounts = [unique("totals") for _ in range(3)]
    firsts = []
    for n, account in enumerate(accounts, start=1):
        first = feed.invoice(account, "INV-1", "2026-01-15", "2026-02-14",
                             billed("one_time", 1000 * n, "2026-01-15"),
                             billed("recurring", 3100 * n, "2026-01-15", "2026-02-14"),
                             currency=currency)  # fmt: skip
        second = feed.invoice(account, "INV-2", "2026-02-15", "2026-03-17",
                              billed("recurring", 2800 * n, "2026-02-15", "2026-03-14"),
                              currency=currency)  # fmt: skip
        await feed.send(first)
        await feed.send(second)
        firsts.append(first)
    # Reverses the posting (Dr 4100) and January's recognition (Dr 4000).
    await feed.send(feed.void(firsts[2], "2026-03-20"))
    await feed.send(feed.credit_note(accounts[0], "CN-1", "2026-02-20",
                                     billed("credit", -500, "2026-02-20", "2026-03-14"),
                                     currency=currency))  # fmt: skip
    paid = await service.client.post(
        "/v1/payments",
        json={"account_id": accounts[1], "amount": 9000, "currency": currency,
              "received_on": "2026-02-20", "reference": "wire"},
        headers=FINANCE,
    )  # fmt: skip
    assert paid.status_code == 201, paid.text
    await wait_for_entries(service.client, accounts[2], 5)
    await caught_up(service)
    # Recognises the credit note's lines too (Dr 4000).
    run = await service.client.post(
        "/v1/recognition-runs", json={"through": "2026-03-31"}, headers=FINANCE
    )
    assert run.status_code == 201, run.text
    return accounts


async def _totals_agree_with_the_journal(session: AsyncSession, as_of: date) -> list[Any]:
    """Assert the reads over the daily totals equal the same sums over the journal's lines
    and moves as of the date; returns the trial balance's totals."""
    line, move, entry = journal_lines, subledger_moves, journal_entries
    totals = await Journal(session).totals(as_of)
    moves = await Receivables(session).subledger_totals(as_of)
    revenue = await Journal(session).revenue(D("2025-01-01"), as_of)
    by_lines = (
        await session.execute(
            select(line.c.currency, line.c.ledger_account, func.sum(line.c.debit),
                   func.sum(line.c.credit))
            .where(line.c.entry_date <= as_of)
            .group_by(line.c.currency, line.c.ledger_account)
        )
    ).all()  # fmt: skip
    by_moves = (
        await session.execute(
            select(move.c.currency, move.c.target, func.sum(move.c.amount))
            .where(move.c.entry_date <= as_of)
            .group_by(move.c.currency, move.c.target)
        )
    ).all()
    earned = (
        await session.execute(
            select(line.c.currency, entry.c.service_month, line.c.ledger_account,
                   func.sum(line.c.credit - line.c.debit))
            .join(entry, entry.c.entry_id == line.c.entry_id)
            .where(line.c.entry_date <= as_of, entry.c.service_month <= as_of,
                   entry.c.service_month >= D("2025-01-01"),
                   line.c.ledger_account.in_(["4000", "4100"]))
            .group_by(line.c.currency, entry.c.service_month, line.c.ledger_account)
        )
    ).all()  # fmt: skip
    assert {(t.currency, t.ledger_account): (t.debit, t.credit) for t in totals} == {
        (c, a): (int(d), int(k)) for c, a, d, k in by_lines
    }, as_of
    assert moves == {(c, t): int(amount) for c, t, amount in by_moves}, as_of
    assert sorted(revenue) == sorted((c, m, a, int(x)) for c, m, a, x in earned), as_of
    return totals


async def test_daily_totals_equal_the_journal_s_own_sums_as_of_every_date(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    currency = await unused_currency(ledger_service)
    await _books(ledger_service, feed, currency)

    for as_of in map(D, AS_OF_DATES):
        async with ledger_service.runtime.db.session() as session:
            totals = await _totals_agree_with_the_journal(session, as_of)
        if as_of >= D("2026-03-31"):
            mine = {(t.ledger_account, t.debit > 0) for t in totals if t.currency == currency}
            assert {("4000", True), ("4100", True)} <= mine


def _book_rows() -> dict[Table, list[dict[str, Any]]]:
    """The projected rows of one book: two invoices (one-time and recurring lines), a
    payment that overpays (customer credit) and a recognition run."""
    account = unique("migrated")
    facts: list[Fact] = [
        InvoiceBooked(invoice_id=f"{account}-1", number="INV-1", account_id=account,
                      currency="USD", invoice_date=D("2026-01-15"), due_date=D("2026-02-14"),
                      lines=[BookedLine(line_no=1, kind="one_time", period_start=D("2026-01-15"),
                                        period_end=D("2026-01-15"), amount=2500),
                             BookedLine(line_no=2, kind="recurring",
                                        period_start=D("2026-01-15"),
                                        period_end=D("2026-02-14"), amount=3100)],
                      source_event_id="ev-1"),
        PaymentReceived(payment_id=f"{account}-pay", account_id=account, currency="USD",
                        amount=6000, received_on=D("2026-02-01"), reference="wire"),
        RevenueRecognisedThrough(run_id="rr-1", account_id=account, currency="USD",
                                 through=D("2026-02-28")),
    ]  # fmt: skip
    book = AccountBook(account, "USD")
    events: list[EventPayload] = []
    for n, fact in enumerate(facts):
        outcome = apply_fact(book, fact)
        events += [fact, *(entry_posted(e, f"je_{account}_{n}_{i}", f"ev-{n}")
                           for i, e in enumerate(outcome.entries))]  # fmt: skip
    clock = FixedClock(datetime(2026, 3, 1, tzinfo=UTC))
    return PROJECTOR.rows(
        [(make_envelope(e, stream_id=account, stream_version=v, account_id=account,
                        producer="ledger", clock=clock), e)
         for v, e in enumerate(events, start=1)]
    )  # fmt: skip


async def test_migration_0004_fills_the_daily_totals_from_the_journal(db_url: str) -> None:
    config = alembic_config(SPEC.alembic_dir, db_url)
    await asyncio.to_thread(command.upgrade, config, "0002")
    db = Database(db_url)
    try:
        rows = _book_rows()
        assert rows[journal_entries] and rows[subledger_moves]
        async with db.session() as session, session.begin():
            for table, found in rows.items():
                if found:
                    await session.execute(insert(table), found)

        await upgrade(SPEC.alembic_dir, db_url)

        async with db.session() as session:
            for as_of in map(D, AS_OF_DATES):
                totals = await _totals_agree_with_the_journal(session, as_of)
            assert {t.ledger_account for t in totals} >= {"1000", "1100", "2200", "4000", "4100"}
    finally:
        await db.dispose()


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_aging_and_statement_csv_stream_the_json_figures_page_by_page(
    ledger_service: LiveService, feed: BillingFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One account (aging) or one entry (statement) a page: every page boundary is crossed.
    monkeypatch.setattr(report_csv, "PAGE", 1)
    currency = await unused_currency(ledger_service)
    accounts = await _books(ledger_service, feed, currency)
    client = ledger_service.client
    params = {"as_of": "2026-03-31"}

    as_json = await client.get("/v1/reports/ar-aging", params=params, headers=FINANCE)
    as_csv = await client.get(
        "/v1/reports/ar-aging", params=params, headers={**FINANCE, "Accept": "text/csv"}
    )

    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text.splitlines()[0] == (
        "account_id,currency,current,1_30,31_60,61_90,over_90,total,customer_credit"
    )
    expected: list[dict[str, Any]] = [
        {k: str(v) for k, v in row.items()} for row in as_json.json()["accounts"]
    ]
    rows = _csv(as_csv.text)
    assert rows == [{k: row[k] for k in rows[0]} for row in expected]
    assert {r["account_id"] for r in rows if r["currency"] == currency} == set(accounts)
    nothing_yet = await client.get(
        "/v1/reports/ar-aging", params={"as_of": "2000-01-01"},
        headers={**FINANCE, "Accept": "text/csv"},
    )  # fmt: skip
    assert nothing_yet.text == as_csv.text.splitlines()[0] + "\r\n"

    for account in accounts:
        window = {"from": "2026-01-01", "to": "2026-03-31", "currency": currency}
        statement = await client.get(
            f"/v1/accounts/{account}/statement", params=window, headers=FINANCE
        )
        streamed = await client.get(
            f"/v1/accounts/{account}/statement", params=window,
            headers={**FINANCE, "Accept": "text/csv"},
        )  # fmt: skip
        assert statement.status_code == streamed.status_code == 200, streamed.text
        lines = statement.json()["lines"]
        assert len(lines) >= 2
        assert _csv(streamed.text) == [
            {"entry_date": x["entry_date"], "kind": x["kind"],
             "concerns_kind": x["concerns"]["kind"], "concerns_id": x["concerns"]["id"],
             "change": str(x["change"]), "balance": str(x["balance"])}
            for x in lines
        ]  # fmt: skip
