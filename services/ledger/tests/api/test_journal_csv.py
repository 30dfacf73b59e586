"""`GET /v1/journal-entries` with `Accept: text/csv`: the same entries as the JSON list,
one row per line, with the same filters, read from the database page by page."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from ledger.api import journal_csv
from ledger_feed import FINANCE, BillingFeed, f1_invoices, journal_entries, wait_for_entries
from revline_testkit.live import LiveService
from revline_testkit.topics import unique

CSV = {**FINANCE, "Accept": "text/csv"}


def as_rows(entries: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The JSON entries as the CSV should hold them: a row per line, every value a string."""
    rows = []
    for e in entries:
        for line in e["lines"]:
            rows.append({
                "entry_id": e["id"], "entry_date": e["entry_date"],
                "account_id": e["account_id"], "currency": e["currency"], "kind": e["kind"],
                "concerns_kind": e["concerns"]["kind"], "concerns_id": e["concerns"]["id"],
                "concerns_line_no": str(e["concerns"]["line_no"] or ""),
                "service_month": e["service_month"] or "",
                "ledger_account": line["ledger_account"], "name": line["name"],
                "debit": str(line["debit"]), "credit": str(line["credit"]),
                "event_id": e["event_id"], "source_event_id": e["source_event_id"],
            })  # fmt: skip
    return rows


async def csv_of(service: LiveService, **params: str) -> list[dict[str, str]]:
    """The journal entries' CSV, parsed (the header checked)."""
    response = await service.client.get("/v1/journal-entries", params=params, headers=CSV)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="journal-entries.csv"' in response.headers["content-disposition"]
    lines = response.text.split("\r\n")
    assert lines[0] == ",".join(journal_csv.HEADER)
    assert lines[-1] == ""  # every line ends with CRLF
    return list(csv.DictReader(io.StringIO(response.text)))


async def test_the_csv_holds_every_line_of_the_account_s_entries_in_posting_order(
    ledger_service: LiveService, feed: BillingFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pages of 2 entries: the stream reads several pages and joins them without a gap.
    monkeypatch.setattr(journal_csv, "PAGE", 2)
    account = unique("csv")
    other = unique("csv-other")
    for envelope in [*f1_invoices(feed, account), *f1_invoices(feed, other)]:
        await feed.send(envelope)
    await wait_for_entries(ledger_service.client, account, 6)
    await wait_for_entries(ledger_service.client, other, 6)

    rows = await csv_of(ledger_service, account_id=account)

    assert rows == as_rows(await journal_entries(ledger_service.client, account_id=account))
    assert len({r["entry_id"] for r in rows}) == 6
    assert [(r["entry_date"], r["ledger_account"], r["debit"], r["credit"]) for r in rows[:3]] == [
        ("2026-01-15", "1100", "49677", "0"),
        ("2026-01-15", "2100", "0", "24677"),
        ("2026-01-15", "4100", "0", "25000"),
    ]
    assert {r["account_id"] for r in rows} == {account}


async def test_the_csv_takes_the_date_filters_and_the_cursor_of_the_json_list(
    ledger_service: LiveService, feed: BillingFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_csv, "PAGE", 1)
    account = unique("csv")
    for envelope in f1_invoices(feed, account):
        await feed.send(envelope)
    await wait_for_entries(ledger_service.client, account, 6)
    february = {"account_id": account, "from": "2026-02-01", "to": "2026-02-28"}

    rows = await csv_of(ledger_service, **february)

    expected = await journal_entries(ledger_service.client, **february)
    assert [(r["entry_date"], r["ledger_account"]) for r in rows] == [
        ("2026-02-01", "1100"), ("2026-02-01", "2100"),
        ("2026-02-28", "2100"), ("2026-02-28", "4000"),
    ]  # fmt: skip
    assert rows == as_rows(expected)
    first = await ledger_service.client.get(
        "/v1/journal-entries", params={"account_id": account, "limit": 2}, headers=FINANCE
    )
    cursor = first.json()["next_cursor"]
    after_first_page = await csv_of(ledger_service, account_id=account, cursor=cursor)
    everything = await journal_entries(ledger_service.client, account_id=account)
    assert after_first_page == as_rows(everything[2:])
    nothing = await csv_of(ledger_service, account_id=unique("nobody"))
    assert nothing == []


async def test_json_stays_the_default_and_bad_filters_are_a_422_in_csv_too(
    ledger_service: LiveService,
) -> None:
    client = ledger_service.client
    both = await client.get(
        "/v1/journal-entries", headers={**FINANCE, "Accept": "application/json, text/csv"}
    )
    assert both.headers["content-type"].startswith("application/json")
    bad = await client.get("/v1/journal-entries", params={"from": "2026-1-1"}, headers=CSV)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in bad.json()["errors"]] == ["from"]
