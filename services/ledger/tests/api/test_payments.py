"""POST /v1/payments and the receivables it leaves: F1's payment, W18, and every refusal."""

from __future__ import annotations

from typing import Any

import pytest
from ledger_feed import (
    FINANCE,
    BillingFeed,
    billed,
    f1_invoices,
    journal_entries,
    unused_currency,
    wait_for_entries,
    written,
)
from revline_testkit.live import LiveService, auth
from revline_testkit.topics import caught_up, unique
from revline_testkit.waiting import eventually

F1_ENTRY_COUNT = 6


def payment(account: str, amount: object = 150000, **fields: object) -> dict[str, Any]:
    """A payment body (F1's by default)."""
    return {"account_id": account, "amount": amount, "currency": "USD",
            "received_on": "2026-03-05", "reference": "wire 42", **fields}  # fmt: skip


async def pay(service: LiveService, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    """POST the payment; 201 expected."""
    response = await service.client.post("/v1/payments", json=body, headers={**FINANCE, **headers})
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    return found


async def receivable(service: LiveService, account: str, **params: str) -> dict[str, Any]:
    """GET /v1/receivables/{account}; 200 expected."""
    response = await service.client.get(
        f"/v1/receivables/{account}", params=params, headers=FINANCE
    )
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def f1_posted(service: LiveService, feed: BillingFeed, currency: str = "USD") -> list[str]:
    """F1's invoices booked for a new account; returns [account, INV-1 id, INV-2, INV-3]."""
    account = unique("acme")
    invoices = f1_invoices(feed, account, currency=currency)
    for envelope in invoices:
        await feed.send(envelope)
    await wait_for_entries(service.client, account, F1_ENTRY_COUNT)
    return [account, *(str(e.payload["invoice_id"]) for e in invoices)]


async def test_f1_payment_pays_the_oldest_invoices_and_the_trial_balance_is_f1s(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    currency = await unused_currency(ledger_service)
    account, first, second, third = await f1_posted(ledger_service, feed, currency)

    paid = await pay(ledger_service, payment(account, currency=currency))

    assert paid["status"] == "applied" and paid["invoice_id"] is None
    assert [(a["invoice_id"], a["amount"], a["applied_on"]) for a in paid["applications"]] == [
        (first, 49677, "2026-03-05"), (second, 45000, "2026-03-05"), (third, 55323, "2026-03-05"),
    ]  # fmt: skip
    entries = await journal_entries(ledger_service.client, account_id=account)
    assert written(entries[-1]) == ("2026-03-05", "Dr 1000 150000; Cr 1100 150000")
    assert entries[-1]["concerns"] == {"kind": "payment", "id": paid["id"], "line_no": None}
    report = await ledger_service.client.get(
        "/v1/reports/trial-balance", params={"as_of": "2026-03-05"}, headers=FINANCE
    )
    [mine] = [c for c in report.json()["currencies"] if c["currency"] == currency]
    assert {r["ledger_account"]: (r["debit"], r["credit"]) for r in mine["rows"]} == {
        "1000": (150000, 0), "1100": (152856, 150000), "2100": (73856, 127856),
        "2200": (0, 0), "4000": (0, 73856), "4100": (0, 25000), "6000": (0, 0),
    }  # fmt: skip
    assert mine["total_debit"] == mine["total_credit"] == 376712
    assert await receivable(ledger_service, account, as_of="2026-03-05") == {
        "account_id": account, "currency": currency, "as_of": "2026-03-05", "balance": 2856,
        "unapplied_cash": 0,
        "open_invoices": [{"invoice_id": third, "number": "INV-000003",
                           "due_date": "2026-03-31", "amount_due": 2856}],
    }  # fmt: skip
    before = await receivable(ledger_service, account, as_of="2026-03-04")
    assert before["balance"] == 152856 and len(before["open_invoices"]) == 3


async def test_w18_overpayment_becomes_credit_applied_when_the_next_invoice_posts(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    account = unique("acme")
    inv1 = feed.invoice(account, "INV-000001", "2026-01-01", "2026-01-31",
                        billed("recurring", 15000, "2026-01-01", "2026-01-31"))  # fmt: skip
    await feed.send(inv1)
    await wait_for_entries(ledger_service.client, account, 1)

    paid = await pay(ledger_service, payment(account, 20000, received_on="2026-02-01"))
    inv2 = feed.invoice(account, "INV-000002", "2026-03-01", "2026-03-31",
                        billed("recurring", 12000, "2026-03-01", "2026-03-31"))  # fmt: skip
    await feed.send(inv2)
    entries = await wait_for_entries(ledger_service.client, account, 5)

    assert [written(e) for e in entries if e["kind"] != "revenue_recognised"] == [
        ("2026-01-01", "Dr 1100 15000; Cr 2100 15000"),
        ("2026-02-01", "Dr 1000 20000; Cr 1100 15000; Cr 2200 5000"),
        ("2026-03-01", "Dr 1100 12000; Cr 2100 12000"),
        ("2026-03-01", "Dr 2200 5000; Cr 1100 5000"),
    ]
    assert [(a["invoice_id"], a["amount"]) for a in paid["applications"]] == [
        (inv1.payload["invoice_id"], 15000)
    ]

    async def with_credit_applied() -> dict[str, Any] | None:
        response = await ledger_service.client.get(f"/v1/payments/{paid['id']}", headers=FINANCE)
        found: dict[str, Any] = response.json()
        return found if len(found["applications"]) == 2 else None

    again = await eventually(with_credit_applied)
    assert [(a["invoice_id"], a["amount"], a["source"]) for a in again["applications"]] == [
        (inv1.payload["invoice_id"], 15000, "cash"),
        (inv2.payload["invoice_id"], 5000, "customer_credit"),
    ]
    owed = await receivable(ledger_service, account, as_of="2026-02-15")
    assert owed["unapplied_cash"] == 5000
    now = await receivable(ledger_service, account, as_of="2026-03-01")
    assert (now["balance"], now["unapplied_cash"]) == (7000, 0)


async def test_a_payment_naming_an_invoice_pays_only_that_one(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    account, first, second, third = await f1_posted(ledger_service, feed)

    paid = await pay(ledger_service, payment(account, 50000, invoice_id=second))

    assert [(a["invoice_id"], a["amount"]) for a in paid["applications"]] == [(second, 45000)]
    owed = await receivable(ledger_service, account, as_of="2026-03-05")
    assert owed["unapplied_cash"] == 5000
    assert [i["invoice_id"] for i in owed["open_invoices"]] == [first, third]
    assert owed["balance"] == 49677 + 58179 - 5000
    listed = await ledger_service.client.get(
        "/v1/payments", params={"account_id": account}, headers=FINANCE
    )
    assert [p["id"] for p in listed.json()["data"]] == [paid["id"]]


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"amount": 0}, 422, "amount"),
        ({"amount": -100}, 422, "amount"),
        ({"amount": 100.5}, 422, "amount"),
        ({"amount": "100"}, 422, "amount"),
        ({"amount": True}, 422, "amount"),
        ({"amount": 10**15 + 1}, 422, "amount"),  # was a 500: over a 64-bit column
        ({"amount": 10**40}, 422, "amount"),
        ({"currency": "usd"}, 422, "currency"),
        ({"currency": "EUR", "invoice_id": "THIRD"}, 422, "currency"),
        ({"received_on": "2026-02-31"}, 422, "received_on"),
        ({"received_on": "2026-02-28", "invoice_id": "THIRD"}, 422, "received_on"),
        ({"invoice_id": "no-such-invoice"}, 404, None),
        ({"invoice_id": "FIRST"}, 409, None),  # paid by the first payment
        ({"account_id": "someone-else", "invoice_id": "THIRD"}, 422, "invoice_id"),
    ],
)
async def test_a_refused_payment_writes_nothing(
    ledger_service: LiveService,
    feed: BillingFeed,
    change: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    account, first, _, third = await f1_posted(ledger_service, feed)
    await pay(ledger_service, payment(account, 49677, invoice_id=first))
    entries = len(await journal_entries(ledger_service.client, account_id=account))
    ids = {"FIRST": first, "THIRD": third}
    named = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in change.items()}
    body = {**payment(account, 1000), **named}

    response = await ledger_service.client.post(
        "/v1/payments", json=body, headers={**FINANCE, "Idempotency-Key": unique("key")}
    )

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if field is not None:
        assert field in [e["field"] for e in response.json()["errors"]], response.json()
    assert len(await journal_entries(ledger_service.client, account_id=account)) == entries
    listed = await ledger_service.client.get(
        "/v1/payments", params={"account_id": body["account_id"]}, headers=FINANCE
    )
    assert len(listed.json()["data"]) == (1 if body["account_id"] == account else 0)


async def test_the_same_idempotency_key_pays_once(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    account, *_ = await f1_posted(ledger_service, feed)
    key = {"Idempotency-Key": unique("key")}

    first = await pay(ledger_service, payment(account), **key)
    again = await ledger_service.client.post(
        "/v1/payments", json=payment(account), headers={**FINANCE, **key}
    )
    other = await ledger_service.client.post(
        "/v1/payments", json=payment(account, 1), headers={**FINANCE, **key}
    )

    assert again.status_code == 201 and again.json() == first
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    listed = await ledger_service.client.get(
        "/v1/payments", params={"account_id": account}, headers=FINANCE
    )
    assert len(listed.json()["data"]) == 1


async def test_payments_are_written_by_finance_and_admin_only(
    ledger_service: LiveService,
) -> None:
    account = unique("acme")
    for role in ("sales", "ops"):
        response = await ledger_service.client.post(
            "/v1/payments", json=payment(account), headers=auth(role)
        )
        assert response.status_code == 403
    unknown = await ledger_service.client.get("/v1/payments/pay_nothing", headers=FINANCE)
    assert unknown.status_code == 404
    created = await ledger_service.client.post(
        "/v1/payments", json=payment(account, received_on="2026-01-01"), headers=auth("admin")
    )
    assert created.status_code == 201
    owed = await receivable(ledger_service, account, as_of="2026-01-01")
    assert owed["unapplied_cash"] == 150000


async def test_w20_ar_aging_buckets_each_invoice_by_days_past_due(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    currency = await unused_currency(ledger_service)
    account = unique("aging")
    due_dates = ["2026-06-30", "2026-06-29", "2026-05-31", "2026-05-30",
                 "2026-05-01", "2026-04-30", "2026-04-01", "2026-03-31"]  # fmt: skip
    for i, due in enumerate(due_dates, start=1):
        await feed.send(feed.invoice(account, f"INV-00000{i}", "2026-03-01", due,
                                     billed("one_time", i * 1000, "2026-03-01"),
                                     currency=currency))  # fmt: skip
    await wait_for_entries(ledger_service.client, account, len(due_dates))

    response = await ledger_service.client.get(
        "/v1/reports/ar-aging", params={"as_of": "2026-06-30"}, headers=FINANCE
    )

    assert response.status_code == 200, response.text
    report = response.json()
    buckets = {"current": 1000, "1_30": 5000, "31_60": 9000, "61_90": 13000, "over_90": 8000}
    [total] = [t for t in report["totals"] if t["currency"] == currency]
    assert total == {"currency": currency, **buckets, "total": 36000}
    [row] = [a for a in report["accounts"] if a["account_id"] == account]
    assert row == {"account_id": account, "currency": currency, "customer_credit": 0,
                   **buckets, "total": 36000}  # fmt: skip
    earlier = await ledger_service.client.get(
        "/v1/reports/ar-aging", params={"as_of": "2026-02-28"}, headers=FINANCE
    )
    assert account not in {a["account_id"] for a in earlier.json()["accounts"]}


async def test_aging_shows_customer_credit_apart(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    account = unique("credit")
    await pay(ledger_service, payment(account, 700, received_on="2026-01-10"))

    response = await ledger_service.client.get(
        "/v1/reports/ar-aging", params={"as_of": "2026-01-10"}, headers=FINANCE
    )

    [row] = [a for a in response.json()["accounts"] if a["account_id"] == account]
    assert (row["customer_credit"], row["total"]) == (700, 0)


async def test_w22_a_refund_pays_credit_back_and_the_next_invoice_takes_the_rest(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    account = unique("acme")
    first = feed.invoice(account, "INV-000001", "2026-01-01", "2026-01-31",
                         billed("recurring", 15000, "2026-01-01", "2026-01-31"))  # fmt: skip
    await feed.send(first)
    await wait_for_entries(ledger_service.client, account, 1)
    await pay(ledger_service, payment(account, 20000, received_on="2026-02-01"))
    refund = {"account_id": account, "amount": 3000, "currency": "USD",
              "refunded_on": "2026-02-10", "reference": "refund 1"}  # fmt: skip

    too_much = await ledger_service.client.post(
        "/v1/refunds", json={**refund, "amount": 6000}, headers=FINANCE
    )
    done = await ledger_service.client.post("/v1/refunds", json=refund, headers=FINANCE)
    second = feed.invoice(account, "INV-000002", "2026-03-01", "2026-03-31",
                          billed("recurring", 12000, "2026-03-01", "2026-03-31"))  # fmt: skip
    await feed.send(second)
    entries = await wait_for_entries(ledger_service.client, account, 6)

    assert too_much.status_code == 409, too_much.text
    assert too_much.json()["type"].endswith("insufficient-customer-credit")
    assert done.status_code == 201, done.text
    assert (done.json()["amount"], done.json()["refunded_on"]) == (3000, "2026-02-10")
    assert [written(e) for e in entries if e["kind"] != "revenue_recognised"][2:] == [
        ("2026-02-10", "Dr 2200 3000; Cr 1000 3000"),
        ("2026-03-01", "Dr 1100 12000; Cr 2100 12000"),
        ("2026-03-01", "Dr 2200 2000; Cr 1100 2000"),
    ]
    owed = await receivable(ledger_service, account, as_of="2026-03-01")
    assert (owed["balance"], owed["unapplied_cash"]) == (10000, 0)
    statement = await ledger_service.client.get(
        f"/v1/accounts/{account}/statement", params={"from": "2026-01-01", "to": "2026-03-31"},
        headers=FINANCE,
    )  # fmt: skip
    assert [(x["kind"], x["change"], x["balance"]) for x in statement.json()["lines"]] == [
        ("invoice_posted", 15000, 15000),
        ("payment_received", -20000, -5000),
        ("credit_refunded", 3000, -2000),
        ("invoice_posted", 12000, 10000),
        ("credit_applied", 0, 10000),
    ]
    reversed_range = await ledger_service.client.get(
        f"/v1/accounts/{account}/statement", params={"from": "2026-03-01", "to": "2026-01-01"},
        headers=FINANCE,
    )  # fmt: skip
    assert reversed_range.status_code == 422


async def test_the_tie_out_finds_no_difference_after_every_test_of_the_module(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    # Runs last in this module: every invoice, payment, credit and refund above is in it.
    await caught_up(ledger_service)
    for as_of in ("2026-02-10", "2026-03-05", "9999-12-31"):
        response = await ledger_service.client.get(
            "/v1/reports/tie-out", params={"as_of": as_of}, headers=FINANCE
        )
        assert response.status_code == 200, response.text
        currencies = response.json()["currencies"]
        assert currencies, as_of
        for found in currencies:
            assert found["receivable_difference"] == found["credit_difference"] == 0, found
            assert found["accounts_receivable"] == found["open_invoices"]
    usd = next(c for c in currencies if c["currency"] == "USD")
    assert usd["open_invoices"] > 0 and usd["customer_credit_lots"] > 0
