"""`Accept: text/csv` on the ledger accounts, an account's receivables and the payments
list: the same figures as the JSON, to the minor unit, read page by page; the same 4xx."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from ledger.api import listing_csv
from ledger_feed import FINANCE, BillingFeed, f1_invoices, unused_currency, wait_for_entries
from revline_events.payloads.billing import InvoicePosted
from revline_testkit.live import LiveService
from revline_testkit.topics import caught_up, unique

CSV = {**FINANCE, "Accept": "text/csv"}
# F1 booked, then: 60,000 on 2026-03-06 (INV-000001 in full, INV-000002 in part),
# 100,000 on 2026-03-10 (INV-000002's rest, INV-000003, 7,144 left as credit), and the
# first one reversed on 2026-03-12 (INV-000001 and part of INV-000002 open again).
AS_OF = ("2026-01-14", "2026-02-19", "2026-03-05", "2026-03-06", "2026-03-10", "2026-03-12",
         "2026-04-15")  # fmt: skip


async def csv_of(service: LiveService, path: str, name: str, **params: str) -> list[list[str]]:
    """The CSV's rows (its header first), checking the type, name and CRLF line ends."""
    response = await service.client.get(path, params=params, headers=CSV)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert f'filename="{name}.csv"' in response.headers["content-disposition"]
    assert response.text.endswith("\r\n")
    return list(csv.reader(io.StringIO(response.text)))


async def json_of(service: LiveService, path: str, **params: str) -> Any:
    response = await service.client.get(path, params=params, headers=FINANCE)
    assert response.status_code == 200, response.text
    return response.json()


async def f1_paid_and_reversed(
    service: LiveService, feed: BillingFeed, currency: str
) -> tuple[str, list[str]]:
    """F1's account in `currency` with the payments of AS_OF's note; (account, ids)."""
    account = unique("listing")
    invoices = f1_invoices(feed, account, currency)
    for envelope in invoices:
        await feed.send(envelope)
    await wait_for_entries(service.client, account, 3)
    ids = []
    for amount, on in ((60000, "2026-03-06"), (100000, "2026-03-10")):
        body = {"account_id": account, "amount": amount, "currency": currency,
                "received_on": on, "reference": f"wire {on}"}  # fmt: skip
        paid = await service.client.post("/v1/payments", json=body, headers=FINANCE)
        assert paid.status_code == 201, paid.text
        ids.append(paid.json()["id"])
    reversed_ = await service.client.post(
        f"/v1/payments/{ids[0]}/reverse",
        json={"reversed_on": "2026-03-12", "reason": "chargeback"},
        headers=FINANCE,
    )
    assert reversed_.status_code == 200, reversed_.text
    numbers = {InvoicePosted.model_validate(e.payload).number for e in invoices}
    assert numbers == {"INV-000001", "INV-000002", "INV-000003"}
    return account, ids


async def test_receivables_csv_holds_the_json_s_open_invoices_credit_and_balance(
    ledger_service: LiveService, feed: BillingFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing_csv, "PAGE", 2)  # F1's three open invoices take two pages
    account, _ = await f1_paid_and_reversed(ledger_service, feed, "USD")
    path = f"/v1/receivables/{account}"
    seen_open = set()
    for day in AS_OF:
        owed = await json_of(ledger_service, path, as_of=day)
        rows = await csv_of(ledger_service, path, f"receivables-{account}-USD-{day}", as_of=day)
        assert rows[0] == list(listing_csv.RECEIVABLE_HEADER)
        assert rows[1:] == [
            *([account, "USD", "open_invoice", i["invoice_id"], i["number"], i["due_date"],
               str(i["amount_due"])] for i in owed["open_invoices"]),
            [account, "USD", "unapplied_cash", "", "", "", str(owed["unapplied_cash"])],
            [account, "USD", "balance", "", "", "", str(owed["balance"])],
        ], day  # fmt: skip
        seen_open.add(len(owed["open_invoices"]))
    # F1's figures: all three open on 2026-03-05; 7,144 of credit and INV-000001 (49,677)
    # and INV-000002's 10,323 open again after the reversal.
    assert {0, 2, 3} <= seen_open
    after = await csv_of(ledger_service, path, f"receivables-{account}-USD-2026-03-12",
                         as_of="2026-03-12", currency="USD")  # fmt: skip
    assert [r[6] for r in after[1:]] == ["49677", "10323", "7144", str(49677 + 10323 - 7144)]


async def test_payments_csv_holds_every_payment_and_application_of_the_json_list(
    ledger_service: LiveService, feed: BillingFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing_csv, "PAGE", 1)  # a page per payment: the key is used
    account, ids = await f1_paid_and_reversed(ledger_service, feed, "USD")
    listed = await json_of(ledger_service, "/v1/payments", account_id=account, limit="100")
    assert [p["id"] for p in listed["data"]] == ids
    rows = await csv_of(ledger_service, "/v1/payments", "payments", account_id=account)
    assert rows[0] == list(listing_csv.PAYMENTS_HEADER)
    expected = [
        [p["id"], p["account_id"], p["currency"], str(p["amount"]), p["received_on"],
         p["reference"], p["invoice_id"] or "", p["status"], p["reversed_on"] or "",
         p["reversal_reason"] or "", a["invoice_id"], str(a["amount"]), a["applied_on"],
         a["source"]]
        for p in listed["data"] for a in p["applications"]
    ]  # fmt: skip
    assert rows[1:] == expected
    # The figures: the reversed 60,000 and the 100,000 with 7,144 unapplied.
    assert [(r[0], r[3], r[7], r[8]) for r in rows[1:]] == [
        (ids[0], "60000", "reversed", "2026-03-12"), (ids[0], "60000", "reversed", "2026-03-12"),
        (ids[1], "100000", "applied", ""), (ids[1], "100000", "applied", ""),
    ]  # fmt: skip
    assert [int(r[11]) for r in rows[1:]] == [49677, 10323, 34677, 58179]
    # After the cursor: the second payment only, as on the JSON's second page.
    first = await json_of(ledger_service, "/v1/payments", account_id=account, limit="1")
    rest = await csv_of(ledger_service, "/v1/payments", "payments", account_id=account,
                        cursor=first["next_cursor"])  # fmt: skip
    assert rest[1:] == expected[2:]


async def test_a_payment_with_nothing_applied_has_one_row_with_blank_applications(
    ledger_service: LiveService,
) -> None:
    account = unique("listing-credit")
    body = {"account_id": account, "amount": 1234, "currency": "USD",
            "received_on": "2026-02-01", "reference": "prepaid"}  # fmt: skip
    paid = await ledger_service.client.post("/v1/payments", json=body, headers=FINANCE)
    assert paid.status_code == 201, paid.text
    rows = await csv_of(ledger_service, "/v1/payments", "payments", account_id=account)
    assert rows[1:] == [[paid.json()["id"], account, "USD", "1234", "2026-02-01", "prepaid",
                         "", "applied", "", "", "", "", "", ""]]  # fmt: skip


async def test_ledger_accounts_csv_holds_the_json_s_balances_per_currency(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    currency = await unused_currency(ledger_service)
    await f1_paid_and_reversed(ledger_service, feed, currency)
    await caught_up(ledger_service)
    for day in ("2026-01-31", "2026-03-05", "2026-03-12"):
        chart = await json_of(ledger_service, "/v1/ledger-accounts", as_of=day)
        rows = await csv_of(ledger_service, "/v1/ledger-accounts", f"ledger-accounts-{day}",
                            as_of=day)  # fmt: skip
        assert rows[0] == list(listing_csv.LEDGER_ACCOUNTS_HEADER)
        expected = [
            [a["number"], a["name"], a["normal_balance"], b["currency"], str(b["debit"]),
             str(b["credit"]), str(b["balance"])]
            for a in chart["data"] for b in a["balances"]
        ]  # fmt: skip
        assert rows[1:] == expected
        mine = {r[0]: int(r[6]) for r in rows[1:] if r[3] == currency}
        assert len(mine) == len(chart["data"])
        if day == "2026-03-05":  # F1 posted, nothing paid: AR is the three invoices' total
            assert mine["1100"] == 49677 + 45000 + 58179
        if day == "2026-03-12":  # the second payment applied, its 7,144 left as credit
            assert mine["1100"] == 49677 + 10323
            assert mine["2200"] == 7144


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/ledger-accounts", {"as_of": "2026-02-30"}, "as_of"),
        ("/v1/payments", {"account_id": "no spaces"}, "account_id"),
        ("/v1/payments", {"cursor": "not-a-cursor"}, "cursor"),
        ("/v1/receivables/acct-1", {"as_of": "yesterday"}, "as_of"),
        ("/v1/receivables/acct-1", {"currency": "usd"}, "currency"),
        ("/v1/reports/trial-balance", {"as_of": "2026-13-01"}, "as_of"),
        ("/v1/reports/tie-out", {"as_of": "x"}, "as_of"),
        ("/v1/reports/revenue", {"from": "2026-03-01", "to": "2026-02-01"}, "to"),
        ("/v1/reports/revenue", {"from": "2026-03-01"}, "to"),
    ],
)
async def test_bad_parameters_get_the_json_s_problem_with_csv_asked(
    ledger_service: LiveService, path: str, params: dict[str, str], field: str
) -> None:
    as_json = await ledger_service.client.get(path, params=params, headers=FINANCE)
    as_csv = await ledger_service.client.get(path, params=params, headers=CSV)
    assert as_json.status_code == as_csv.status_code == 422, as_csv.text
    assert as_csv.headers["content-type"].startswith("application/problem+json")
    assert as_csv.json() == as_json.json()
    assert field in as_csv.text


async def test_receivables_csv_of_an_account_in_two_currencies_needs_the_currency(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    account = unique("listing-two")
    for currency in ("USD", "EUR"):
        for envelope in f1_invoices(feed, account, currency)[:1]:
            await feed.send(envelope)
    await wait_for_entries(ledger_service.client, account, 2)
    path = f"/v1/receivables/{account}"
    as_json = await ledger_service.client.get(path, headers=FINANCE)
    as_csv = await ledger_service.client.get(path, headers=CSV)
    assert as_json.status_code == as_csv.status_code == 422, as_csv.text
    assert as_csv.json() == as_json.json()
    assert "currency" in as_csv.text
    eur = await csv_of(ledger_service, path, f"receivables-{account}-EUR-2026-03-05",
                       currency="EUR", as_of="2026-03-05")  # fmt: skip
    assert [r[2:] for r in eur[1:]] == [
        ["open_invoice", eur[1][3], "INV-000001", "2026-02-14", "49677"],
        ["unapplied_cash", "", "", "", "0"],
        ["balance", "", "", "", "49677"],
    ]


async def test_trial_balance_tie_out_and_revenue_csv_hold_the_json_s_figures(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    currency = await unused_currency(ledger_service)
    await f1_paid_and_reversed(ledger_service, feed, currency)
    await caught_up(ledger_service)
    run = await ledger_service.client.post(
        "/v1/recognition-runs", json={"through": "2026-03-31"}, headers=FINANCE
    )
    assert run.status_code == 201, run.text
    day = "2026-03-12"

    trial = await json_of(ledger_service, "/v1/reports/trial-balance", as_of=day)
    rows = await csv_of(ledger_service, "/v1/reports/trial-balance", f"trial-balance-{day}",
                        as_of=day)  # fmt: skip
    assert rows[0] == ["currency", "ledger_account", "name", "debit", "credit"]
    (mine,) = [c for c in trial["currencies"] if c["currency"] == currency]
    assert [r for r in rows[1:] if r[0] == currency] == [
        [currency, r["ledger_account"], r["name"], str(r["debit"]), str(r["credit"])]
        for r in mine["rows"]
    ]
    ar = next(r for r in mine["rows"] if r["ledger_account"] == "1100")
    assert ar["debit"] - ar["credit"] == 49677 + 10323

    tie = await json_of(ledger_service, "/v1/reports/tie-out", as_of=day)
    rows = await csv_of(ledger_service, "/v1/reports/tie-out", f"tie-out-{day}", as_of=day)
    (tied,) = [c for c in tie["currencies"] if c["currency"] == currency]
    assert [r for r in rows[1:] if r[0] == currency] == [[str(tied[k]) for k in rows[0]]]
    assert (tied["open_invoices"], tied["customer_credit_lots"]) == (49677 + 10323, 7144)
    assert tied["receivable_difference"] == tied["credit_difference"] == 0

    span = {"from": "2026-01-01", "to": "2026-03-31"}
    revenue = await json_of(ledger_service, "/v1/reports/revenue", **span)
    rows = await csv_of(ledger_service, "/v1/reports/revenue",
                        "revenue-2026-01-01-2026-03-31", **span)  # fmt: skip
    (earned,) = [c for c in revenue["currencies"] if c["currency"] == currency]
    assert [r for r in rows[1:] if r[0] == currency] == [
        [currency, m["month"], str(m["subscription"]), str(m["one_time"]),
         str(earned["deferred_revenue"])]
        for m in earned["months"]
    ]  # fmt: skip
    # F1 (BILLING_RULES.md): January 24,677 + 25,000 one-time, February 49,179, March 54,000.
    assert [(r[1], r[2], r[3]) for r in rows[1:] if r[0] == currency] == [
        ("2026-01", "24677", "25000"), ("2026-02", "49179", "0"), ("2026-03", "54000", "0"),
    ]  # fmt: skip
