"""POST /v1/payments/{id}/reverse (W21) and POST /v1/invoices/{id}/write-off (W23) through
the service: their entries, what billing is told on ledger.events, the reports after
them, and every refusal writing nothing."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import date
from typing import Any

import pytest
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
from revline_events.envelope import Envelope
from revline_events.payloads.ledger import InvoiceAmountUnapplied, InvoiceWrittenOff
from revline_testkit.live import LiveService, TopicReader, auth
from revline_testkit.topics import caught_up, unique

F1_ENTRY_COUNT = 6


def payment(account: str, amount: int = 150000, **fields: object) -> dict[str, Any]:
    """A payment body (F1's by default)."""
    return {"account_id": account, "amount": amount, "currency": "USD",
            "received_on": "2026-03-05", "reference": "wire 42", **fields}  # fmt: skip


async def pay(service: LiveService, body: dict[str, Any]) -> dict[str, Any]:
    """POST the payment; 201 expected."""
    response = await service.client.post("/v1/payments", json=body, headers=FINANCE)
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    return found


async def reverse(
    service: LiveService, payment_id: str, on: str = "2026-03-10", **headers: str
) -> Any:
    """POST the reversal of the payment (the response, whatever its status)."""
    return await service.client.post(
        f"/v1/payments/{payment_id}/reverse",
        json={"reversed_on": on, "reason": "chargeback"},
        headers={**FINANCE, **headers},
    )


async def write_off(
    service: LiveService, invoice_id: str, on: str = "2026-06-30", **headers: str
) -> Any:
    """POST the write-off of the invoice (the response, whatever its status)."""
    return await service.client.post(
        f"/v1/invoices/{invoice_id}/write-off",
        json={"written_off_on": on, "reason": "customer insolvent"},
        headers={**FINANCE, **headers},
    )


async def receivable(service: LiveService, account: str, as_of: str) -> dict[str, Any]:
    """GET /v1/receivables/{account} as of a date; 200 expected."""
    response = await service.client.get(
        f"/v1/receivables/{account}", params={"as_of": as_of}, headers=FINANCE
    )
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def trial_balance(service: LiveService, currency: str, as_of: str) -> dict[str, Any]:
    """The trial balance of one currency as of a date: {account: (debit, credit)}."""
    response = await service.client.get(
        "/v1/reports/trial-balance", params={"as_of": as_of}, headers=FINANCE
    )
    assert response.status_code == 200, response.text
    [mine] = [c for c in response.json()["currencies"] if c["currency"] == currency]
    assert mine["total_debit"] == mine["total_credit"]
    return {r["ledger_account"]: (r["debit"], r["credit"]) for r in mine["rows"]}


async def ledger_events_of(service: LiveService, account: str, kind: str, count: int) -> list[Any]:
    """The account's events of one type on ledger.events, once there are `count`."""
    bootstrap = service.runtime.settings.kafka_bootstrap
    async with TopicReader(bootstrap, LEDGER_EVENTS) as reader:
        events: list[Envelope] = await reader.read_until(
            lambda found: len([e for e in found if e.type == kind and e.account_id == account])
            >= count
        )
    return [e for e in events if e.type == kind and e.account_id == account]


async def w18_as_it_stands(service: LiveService, feed: BillingFeed) -> tuple[str, str, str, str]:
    """W18 after 2026-03-01: (account, payment id, INV-000001 id, INV-000002 id)."""
    account = unique("w21")
    first = feed.invoice(account, "INV-000001", "2026-01-01", "2026-01-31",
                         billed("recurring", 15000, "2026-01-01", "2026-01-31"))  # fmt: skip
    await feed.send(first)
    await wait_for_entries(service.client, account, 1)
    paid = await pay(service, payment(account, 20000, received_on="2026-02-01"))
    second = feed.invoice(account, "INV-000002", "2026-03-01", "2026-03-31",
                          billed("recurring", 12000, "2026-03-01", "2026-03-31"))  # fmt: skip
    await feed.send(second)
    await wait_for_entries(service.client, account, 5)
    return (
        account, paid["id"], str(first.payload["invoice_id"]), str(second.payload["invoice_id"])
    )  # fmt: skip


async def f1_paid(
    service: LiveService, feed: BillingFeed, currency: str = "USD"
) -> tuple[str, str, list[str]]:
    """F1 posted and paid (150000 on 2026-03-05): (account, payment id, invoice ids)."""
    account = unique("w23")
    invoices = f1_invoices(feed, account, currency=currency)
    for envelope in invoices:
        await feed.send(envelope)
    await wait_for_entries(service.client, account, F1_ENTRY_COUNT)
    paid = await pay(service, payment(account, currency=currency))
    return account, paid["id"], [str(e.payload["invoice_id"]) for e in invoices]


# -- W21 -----------------------------------------------------------------------------------------


async def test_w21_a_reversed_payment_reopens_what_it_paid_and_its_credit_is_gone(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    account, payment_id, first, second = await w18_as_it_stands(ledger_service, feed)

    response = await reverse(ledger_service, payment_id, "2026-03-10")

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["reversed_on"], body["reversal_reason"]) == (
        "reversed", "2026-03-10", "chargeback"
    )  # fmt: skip
    entries = await journal_entries(ledger_service.client, account_id=account)
    assert written(entries[-1]) == ("2026-03-10", "Dr 1100 20000; Cr 1000 20000")
    assert entries[-1]["kind"] == "payment_reversed"
    assert entries[-1]["concerns"] == {"kind": "payment", "id": payment_id, "line_no": None}
    owed = await receivable(ledger_service, account, "2026-03-10")
    assert (owed["balance"], owed["unapplied_cash"]) == (27000, 0)
    assert [(i["invoice_id"], i["amount_due"]) for i in owed["open_invoices"]] == [
        (first, 15000), (second, 12000)
    ]  # fmt: skip
    before = await receivable(ledger_service, account, "2026-03-09")
    assert before["balance"] == 7000
    listed = await ledger_service.client.get(
        "/v1/payments", params={"account_id": account}, headers=FINANCE
    )
    assert [p["status"] for p in listed.json()["data"]] == ["reversed"]
    unapplied = await ledger_events_of(ledger_service, account, "InvoiceAmountUnapplied", 2)
    told = [InvoiceAmountUnapplied.model_validate(e.payload) for e in unapplied]
    assert sorted((u.invoice_id, u.amount, u.source, u.source_id, u.unapplied_on)
                  for u in told) == sorted([
        (first, 15000, "cash", payment_id, date(2026, 3, 10)),
        (second, 5000, "customer_credit", payment_id, date(2026, 3, 10)),
    ])  # fmt: skip
    statement = await ledger_service.client.get(
        f"/v1/accounts/{account}/statement", params={"from": "2026-03-01", "to": "2026-03-31"},
        headers=FINANCE,
    )  # fmt: skip
    assert [(x["kind"], x["change"], x["balance"]) for x in statement.json()["lines"]][-1] == (
        "payment_reversed", 20000, 27000
    )  # fmt: skip


async def test_w21_reversing_unapplied_cash_takes_it_out_of_customer_credit(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    currency = await unused_currency(ledger_service)
    account = unique("w21")
    paid = await pay(ledger_service, payment(account, 700, currency=currency,
                                             received_on="2026-01-10"))  # fmt: skip

    response = await reverse(ledger_service, paid["id"], "2026-01-12")

    assert response.status_code == 200, response.text
    entries = await journal_entries(ledger_service.client, account_id=account)
    assert [written(e) for e in entries] == [
        ("2026-01-10", "Dr 1000 700; Cr 2200 700"),
        ("2026-01-12", "Dr 2200 700; Cr 1000 700"),
    ]
    assert (await receivable(ledger_service, account, "2026-01-12"))["unapplied_cash"] == 0
    balances = await trial_balance(ledger_service, currency, "2026-01-12")
    assert balances["1000"] == (700, 700) and balances["2200"] == (700, 700)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reversed_on": "2026-03-10"}, "reason"),
        ({"reason": "x"}, "reversed_on"),
        ({"reversed_on": "2026-02-30", "reason": "x"}, "reversed_on"),
        ({"reversed_on": "2026-03-10", "reason": ""}, "reason"),
        ({"reversed_on": "2026-03-10", "reason": "x", "amount": 1}, "amount"),
        # before the payment, and before the credit of its lot was applied (2026-03-01)
        ({"reversed_on": "2026-01-31", "reason": "x"}, "reversed_on"),
        ({"reversed_on": "2026-02-15", "reason": "x"}, "reversed_on"),
    ],
)
async def test_a_reversal_with_a_bad_body_or_date_is_a_422_writing_nothing(
    ledger_service: LiveService, feed: BillingFeed, body: dict[str, Any], field: str
) -> None:
    account, payment_id, *_ = await w18_as_it_stands(ledger_service, feed)
    entries = len(await journal_entries(ledger_service.client, account_id=account))

    response = await ledger_service.client.post(
        f"/v1/payments/{payment_id}/reverse", json=body,
        headers={**FINANCE, "Idempotency-Key": unique("key")},
    )  # fmt: skip

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]], response.json()
    assert len(await journal_entries(ledger_service.client, account_id=account)) == entries
    found = await ledger_service.client.get(f"/v1/payments/{payment_id}", headers=FINANCE)
    assert found.json()["status"] == "applied"


async def test_a_payment_is_reversed_once_then_409_and_nothing_more_is_written(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    account, payment_id, *_ = await w18_as_it_stands(ledger_service, feed)
    assert (await reverse(ledger_service, payment_id)).status_code == 200
    entries = len(await journal_entries(ledger_service.client, account_id=account))

    again = await reverse(ledger_service, payment_id, "2026-03-11", **{"Idempotency-Key": "k2"})

    assert again.status_code == 409, again.text
    assert again.json()["type"].endswith("payment-reversed")
    assert again.headers["content-type"].startswith("application/problem+json")
    assert len(await journal_entries(ledger_service.client, account_id=account)) == entries
    owed = await receivable(ledger_service, account, "2026-03-31")
    assert owed["balance"] == 27000


async def test_a_payment_whose_credit_was_refunded_cannot_be_reversed(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    account = unique("w21")
    paid = await pay(ledger_service, payment(account, 5000, received_on="2026-02-01"))
    refund = {"account_id": account, "amount": 3000, "currency": "USD",
              "refunded_on": "2026-02-10", "reference": "refund 1"}  # fmt: skip
    assert (await ledger_service.client.post("/v1/refunds", json=refund,
                                             headers=FINANCE)).status_code == 201  # fmt: skip

    response = await reverse(ledger_service, paid["id"], "2026-02-20")

    assert response.status_code == 409, response.text
    assert response.json()["type"].endswith("payment-credit-refunded")
    assert len(await journal_entries(ledger_service.client, account_id=account)) == 2
    assert (await receivable(ledger_service, account, "2026-02-20"))["unapplied_cash"] == 2000


async def test_reversing_an_unknown_payment_is_a_404_and_only_finance_and_admin_reverse(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    unknown = await reverse(ledger_service, "pay_nothing")
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["type"].endswith("unknown-payment")
    _, payment_id, *_ = await w18_as_it_stands(ledger_service, feed)
    for role in ("sales", "ops"):
        refused = await ledger_service.client.post(
            f"/v1/payments/{payment_id}/reverse",
            json={"reversed_on": "2026-03-10", "reason": "x"}, headers=auth(role),
        )  # fmt: skip
        assert refused.status_code == 403
    nobody = await ledger_service.client.post(
        f"/v1/payments/{payment_id}/reverse", json={"reversed_on": "2026-03-10", "reason": "x"}
    )
    assert nobody.status_code == 401
    by_admin = await ledger_service.client.post(
        f"/v1/payments/{payment_id}/reverse",
        json={"reversed_on": "2026-03-10", "reason": "x"}, headers=auth("admin"),
    )  # fmt: skip
    assert by_admin.status_code == 200, by_admin.text


async def test_the_same_idempotency_key_reverses_once(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    account, payment_id, *_ = await w18_as_it_stands(ledger_service, feed)
    key = {"Idempotency-Key": unique("key")}

    first = await reverse(ledger_service, payment_id, "2026-03-10", **key)
    again = await reverse(ledger_service, payment_id, "2026-03-10", **key)
    other = await reverse(ledger_service, payment_id, "2026-03-12", **key)

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    reversals = [e for e in await journal_entries(ledger_service.client, account_id=account)
                 if e["kind"] == "payment_reversed"]  # fmt: skip
    assert len(reversals) == 1


# -- W23 -----------------------------------------------------------------------------------------


async def test_w23_a_written_off_invoice_is_uncollectible_and_refuses_payment(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    currency = await unused_currency(ledger_service)
    account, _, (first, _, third) = await f1_paid(ledger_service, feed, currency)

    response = await write_off(ledger_service, third, "2026-06-30")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "invoice_id": third, "number": "INV-000003", "account_id": account,
        "currency": currency, "written_off_on": "2026-06-30", "amount": 2856,
        "reason": "customer insolvent", "status": "uncollectible", "amount_paid": 55323,
        "amount_due": 0,
    }  # fmt: skip
    entries = await journal_entries(ledger_service.client, account_id=account)
    [entry] = [e for e in entries if e["kind"] == "invoice_written_off"]
    assert written(entry) == ("2026-06-30", "Dr 6000 2856; Cr 1100 2856")
    assert entry["concerns"] == {"kind": "invoice", "id": third, "line_no": None}
    # Revenue recognition of its lines goes on: March's 54000 was recognised on 2026-03-31.
    recognised = [e for e in entries if e["kind"] == "revenue_recognised"]
    assert ("2026-03-31", "Dr 2100 54000; Cr 4000 54000") in [written(e) for e in recognised]
    owed = await receivable(ledger_service, account, "2026-06-30")
    assert (owed["balance"], owed["open_invoices"]) == (0, [])
    assert (await receivable(ledger_service, account, "2026-06-29"))["balance"] == 2856
    balances = await trial_balance(ledger_service, currency, "2026-06-30")
    assert balances["6000"] == (2856, 0) and balances["1100"] == (152856, 152856)
    aging = await ledger_service.client.get(
        "/v1/reports/ar-aging", params={"as_of": "2026-06-30"}, headers=FINANCE
    )
    assert account not in {a["account_id"] for a in aging.json()["accounts"]}
    refused = await ledger_service.client.post(
        "/v1/payments", json=payment(account, 2856, currency=currency, invoice_id=third,
                                     received_on="2026-07-01"), headers=FINANCE,
    )  # fmt: skip
    assert refused.status_code == 409, refused.text
    assert "uncollectible" in refused.json()["detail"]
    [told] = await ledger_events_of(ledger_service, account, "InvoiceWrittenOff", 1)
    assert InvoiceWrittenOff.model_validate(told.payload).amount == 2856
    # An unnamed payment passes the uncollectible invoice by: it is customer credit.
    later = await pay(ledger_service, payment(account, 100, currency=currency,
                                              received_on="2026-07-02"))  # fmt: skip
    assert later["applications"] == [] and first != third


@pytest.mark.parametrize(
    ("target", "on", "status", "kind"),
    [
        ("FIRST", "2026-06-30", 409, "invoice-not-open"),  # paid
        ("THIRD_AGAIN", "2026-07-01", 409, "invoice-not-open"),  # uncollectible already
        ("VOID", "2026-06-30", 409, "invoice-not-open"),
        ("no-such-invoice", "2026-06-30", 404, "unknown-invoice"),
        ("THIRD", "2026-02-28", 422, "validation"),  # before the invoice date
    ],
)
async def test_a_refused_write_off_writes_nothing(
    ledger_service: LiveService, feed: BillingFeed, target: str, on: str, status: int, kind: str
) -> None:
    account, _, (first, _, third) = await f1_paid(ledger_service, feed)
    voided = feed.invoice(account, "INV-000004", "2026-04-01", "2026-05-01",
                          billed("one_time", 100, "2026-04-01"))  # fmt: skip
    await feed.send(voided)
    await feed.send(feed.void(voided, "2026-04-02"))
    await wait_for_entries(ledger_service.client, account, F1_ENTRY_COUNT + 3)
    if target == "THIRD_AGAIN":
        assert (await write_off(ledger_service, third, "2026-06-30")).status_code == 200
    ids = {"FIRST": first, "THIRD": third, "THIRD_AGAIN": third,
           "VOID": str(voided.payload["invoice_id"])}  # fmt: skip
    entries = len(await journal_entries(ledger_service.client, account_id=account))

    response = await write_off(ledger_service, ids.get(target, target), on,
                               **{"Idempotency-Key": unique("key")})  # fmt: skip

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith(kind)
    if status == 422:
        assert [e["field"] for e in response.json()["errors"]] == ["written_off_on"]
    assert len(await journal_entries(ledger_service.client, account_id=account)) == entries


async def test_a_write_off_refused_for_an_unknown_invoice_keeps_no_idempotency_record(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    account = unique("w23")
    invoice = feed.invoice(account, "INV-000001", "2026-01-01", "2026-01-31",
                           billed("one_time", 900, "2026-01-01"))  # fmt: skip
    key = {"Idempotency-Key": unique("key")}
    invoice_id = str(invoice.payload["invoice_id"])

    early = await write_off(ledger_service, invoice_id, **key)
    await feed.send(invoice)
    await wait_for_entries(ledger_service.client, account, 1)
    late = await write_off(ledger_service, invoice_id, **key)

    assert early.status_code == 404, early.text
    assert late.status_code == 200, late.text
    assert "Idempotent-Replayed" not in late.headers
    for role in ("sales", "ops"):
        assert (await write_off(ledger_service, invoice_id, **auth(role))).status_code == 403


async def test_w21_after_w23_the_undone_cash_of_the_written_off_invoice_is_bad_debt(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    currency = await unused_currency(ledger_service)
    account, payment_id, (first, second, third) = await f1_paid(ledger_service, feed, currency)
    assert (await write_off(ledger_service, third, "2026-06-30")).status_code == 200

    response = await reverse(ledger_service, payment_id, "2026-07-01")

    assert response.status_code == 200, response.text
    entries = await journal_entries(ledger_service.client, account_id=account)
    assert written(entries[-1]) == (
        "2026-07-01", "Dr 1100 94677; Dr 6000 55323; Cr 1000 150000"
    )  # fmt: skip
    owed = await receivable(ledger_service, account, "2026-07-01")
    assert [(i["invoice_id"], i["amount_due"]) for i in owed["open_invoices"]] == [
        (first, 49677), (second, 45000)
    ]  # fmt: skip
    balances = await trial_balance(ledger_service, currency, "2026-07-01")
    assert balances["6000"] == (58179, 0) and balances["1000"] == (150000, 150000)


async def test_a_rebuild_refolds_reversals_and_write_offs_to_the_same_digest(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    _, payment_id, (_, _, third) = await f1_paid(ledger_service, feed)
    assert (await write_off(ledger_service, third, "2026-06-30")).status_code == 200
    assert (await reverse(ledger_service, payment_id, "2026-07-01")).status_code == 200
    await caught_up(ledger_service)
    admin = auth("admin")
    before = (await ledger_service.client.get("/v1/admin/state-digest", headers=admin)).json()
    env = {**os.environ, "LEDGER_DATABASE_URL": ledger_service.runtime.settings.database_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ledger", "rebuild", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()

    assert process.returncode == 0, err.decode()
    assert json.loads(out)["replayed"] > 0
    after = (await ledger_service.client.get("/v1/admin/state-digest", headers=admin)).json()
    assert after["digest"] == before["digest"]
    found = await ledger_service.client.get(f"/v1/payments/{payment_id}", headers=FINANCE)
    assert (found.json()["status"], found.json()["reversed_on"]) == ("reversed", "2026-07-01")
    refused = await write_off(ledger_service, third, "2026-07-02")
    assert refused.status_code == 409, refused.text


async def test_the_tie_out_finds_no_difference_after_every_test_of_the_module(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    # Runs last in this module: every reversal and write-off above is in it.
    await caught_up(ledger_service)
    for as_of in ("2026-03-10", "2026-06-30", "9999-12-31"):
        response = await ledger_service.client.get(
            "/v1/reports/tie-out", params={"as_of": as_of}, headers=FINANCE
        )
        assert response.status_code == 200, response.text
        for found in response.json()["currencies"]:
            assert found["receivable_difference"] == found["credit_difference"] == 0, found
