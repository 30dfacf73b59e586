"""Billing's events in, journal entries and the trial balance out: F1 through the service.

Every test works on accounts of its own in one ledger per module and backend;
a report over every account is checked in a currency no other event uses.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ledger_feed import (
    FINANCE,
    LEDGER_EVENTS,
    BillingFeed,
    billed,
    f1_invoices,
    journal_entries,
    unused_currency,
    wait_for_entries,
    written,
)
from revline_events.payloads.ledger import InvoiceAmountApplied, JournalEntryPosted
from revline_testkit.live import LiveService, TopicReader, auth
from revline_testkit.topics import unique

# BILLING_RULES.md F1: the entries dated on or before 2026-03-05, before the payment.
F1_ENTRIES = [
    ("2026-01-15", "Dr 1100 49677; Cr 2100 24677; Cr 4100 25000"),
    ("2026-01-31", "Dr 2100 24677; Cr 4000 24677"),
    ("2026-02-01", "Dr 1100 45000; Cr 2100 45000"),
    ("2026-02-28", "Dr 2100 45000; Cr 4000 45000"),
    ("2026-03-01", "Dr 1100 58179; Cr 2100 58179"),
    ("2026-03-01", "Dr 2100 4179; Cr 4000 4179"),
]


def rows(report: dict[str, Any], currency: str) -> dict[str, tuple[int, int]]:
    """{ledger account: (debit, credit)} of one currency of a trial balance."""
    [found] = [c for c in report["currencies"] if c["currency"] == currency]
    return {r["ledger_account"]: (r["debit"], r["credit"]) for r in found["rows"]}


async def test_f1_invoices_post_the_entries_of_the_rules(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    account = unique("acme")
    for envelope in f1_invoices(feed, account):
        await feed.send(envelope)

    entries = await wait_for_entries(ledger_service.client, account, len(F1_ENTRIES))

    assert sorted(written(e) for e in entries) == sorted(F1_ENTRIES)
    assert [e["entry_date"] for e in entries] == sorted(e["entry_date"] for e in entries)
    posting = next(e for e in entries if e["kind"] == "invoice_posted")
    assert posting["concerns"]["kind"] == "invoice"
    assert posting["service_month"] == "2026-01-01"
    assert {line["name"] for line in posting["lines"]} == {
        "Accounts Receivable", "Deferred Revenue", "One-time Revenue",
    }  # fmt: skip


async def test_f1_trial_balance_as_of_2026_03_05_without_the_payment(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    account, currency = unique("acme"), await unused_currency(ledger_service)
    for envelope in f1_invoices(feed, account, currency=currency):
        await feed.send(envelope)
    await wait_for_entries(ledger_service.client, account, len(F1_ENTRIES))

    response = await ledger_service.client.get(
        "/v1/reports/trial-balance", params={"as_of": "2026-03-05"}, headers=FINANCE
    )

    assert response.status_code == 200, response.text
    # F1's figures less the 150000 payment (Dr 1000, Cr 1100), which is still to come.
    assert rows(response.json(), currency) == {
        "1000": (0, 0),
        "1100": (152856, 0),
        "2100": (73856, 127856),
        "2200": (0, 0),
        "4000": (0, 73856),
        "4100": (0, 25000),
        "6000": (0, 0),
    }
    [mine] = [c for c in response.json()["currencies"] if c["currency"] == currency]
    assert mine["total_debit"] == mine["total_credit"] == 226712
    earlier = await ledger_service.client.get(
        "/v1/reports/trial-balance", params={"as_of": "2026-01-31"}, headers=FINANCE
    )
    assert rows(earlier.json(), currency)["4000"] == (0, 24677)
    assert rows(earlier.json(), currency)["2100"] == (24677, 24677)


async def test_ledger_accounts_show_the_chart_with_balances_as_of_a_date(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    account, currency = unique("acme"), await unused_currency(ledger_service)
    posted = feed.invoice(account, "INV-1", "2026-02-01", "2026-03-03",
                          billed("recurring", 45000, "2026-02-01", "2026-02-28"),
                          currency=currency)  # fmt: skip
    await feed.send(posted)
    await wait_for_entries(ledger_service.client, account, 1)

    response = await ledger_service.client.get(
        "/v1/ledger-accounts", params={"as_of": "2026-02-27"}, headers=FINANCE
    )

    assert response.status_code == 200, response.text
    chart = {a["number"]: a for a in response.json()["data"]}
    assert list(chart) == ["1000", "1100", "2100", "2200", "4000", "4100", "6000"]
    assert chart["1100"]["name"] == "Accounts Receivable"
    assert chart["1100"]["normal_balance"] == "debit"
    assert chart["2100"]["normal_balance"] == "credit"
    [receivable] = [b for b in chart["1100"]["balances"] if b["currency"] == currency]
    [deferred] = [b for b in chart["2100"]["balances"] if b["currency"] == currency]
    assert receivable == {"currency": currency, "debit": 45000, "credit": 0, "balance": 45000}
    assert deferred == {"currency": currency, "debit": 0, "credit": 45000, "balance": 45000}
    before = await ledger_service.client.get(
        "/v1/ledger-accounts", params={"as_of": "2026-01-31"}, headers=FINANCE
    )
    chart_before = {a["number"]: a for a in before.json()["data"]}
    assert currency not in {b["currency"] for b in chart_before["1100"]["balances"]}


async def test_entries_and_applications_are_published_on_ledger_events(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    account = unique("acme")
    note = feed.credit_note(account, "CN-1", "2026-03-20",
                            billed("credit", -5806, "2026-03-20", "2026-03-31"))  # fmt: skip
    later = feed.invoice(account, "INV-2", "2026-04-01", "2026-05-01",
                         billed("recurring", 35000, "2026-04-01", "2026-04-30"))  # fmt: skip
    await feed.send(note)
    await feed.send(later)

    async with TopicReader(ledger_service.runtime.settings.kafka_bootstrap, LEDGER_EVENTS) as r:
        events = await r.read_until(lambda found: any(
            e.type == "InvoiceAmountApplied" and e.account_id == account for e in found
        ))  # fmt: skip

    mine = [e for e in events if e.account_id == account]
    [applied] = [InvoiceAmountApplied.model_validate(e.payload) for e in mine
                 if e.type == "InvoiceAmountApplied"]  # fmt: skip
    assert (applied.amount, applied.source, applied.applied_on) == (
        5806,
        "customer_credit",
        date(2026, 4, 1),
    )
    assert applied.invoice_id == later.payload["invoice_id"]
    entries = [JournalEntryPosted.model_validate(e.payload) for e in mine
               if e.type == "JournalEntryPosted"]  # fmt: skip
    assert all(sum(x.debit for x in e.lines) == sum(x.credit for x in e.lines) for e in entries)
    causes = {e.causation_id for e in mine}
    assert causes == {note.event_id, later.event_id}
    assert {e.stream_id for e in mine} == {f"book:USD:{account}"}


async def test_reads_are_for_finance_and_admin(ledger_service: LiveService) -> None:
    client = ledger_service.client
    for path in ("/v1/journal-entries", "/v1/ledger-accounts", "/v1/reports/trial-balance",
                 "/v1/reports/ar-aging", "/v1/payments"):  # fmt: skip
        assert (await client.get(path, headers=auth("admin"))).status_code == 200
        assert (await client.get(path, headers=auth("finance"))).status_code == 200
        for role in ("sales", "ops"):
            assert (await client.get(path, headers=auth(role))).status_code == 403
        assert (await client.get(path)).status_code == 401


async def test_bad_dates_and_filters_are_a_422_naming_the_parameter(
    ledger_service: LiveService,
) -> None:
    client = ledger_service.client
    for path, params, field in [
        ("/v1/reports/trial-balance", {"as_of": "2026-02-30"}, "as_of"),
        ("/v1/ledger-accounts", {"as_of": "yesterday"}, "as_of"),
        ("/v1/reports/ar-aging", {"as_of": "2026-13-01"}, "as_of"),
        ("/v1/journal-entries", {"from": "2026-1-1"}, "from"),
        ("/v1/journal-entries", {"account_id": "a b"}, "account_id"),
        ("/v1/journal-entries", {"cursor": "nonsense"}, "cursor"),
    ]:
        response = await client.get(path, params=params, headers=FINANCE)
        assert response.status_code == 422, (path, params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in response.json()["errors"]], response.json()


async def test_journal_entries_filter_by_dates_inclusive(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    account = unique("acme")
    for envelope in f1_invoices(feed, account):
        await feed.send(envelope)
    await wait_for_entries(ledger_service.client, account, len(F1_ENTRIES))

    february = await journal_entries(
        ledger_service.client, account_id=account, **{"from": "2026-02-01", "to": "2026-02-28"}
    )

    assert [written(e) for e in february] == F1_ENTRIES[2:4]
