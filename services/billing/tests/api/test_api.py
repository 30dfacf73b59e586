"""The billing HTTP contract: auth, bad input, unknown ids, idempotency, pagination,
schedules and the upcoming invoice (API.md, billing and Conventions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from billing_feed import (
    ADMIN,
    OPS,
    READER,
    OrderFeed,
    bill_run,
    credit_notes,
    invoices,
    item,
    lines,
    schedules,
    wait_for_schedule_state,
    wait_for_schedules,
)
from revline_testkit.live import LiveService, auth
from revline_testkit.topics import unique

YEAR_START, YEAR_END = date(2026, 1, 1), date(2026, 12, 31)
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Billed:
    """An account with a bill run, an invoice and a credit note (W10 downgrade)."""

    account_id: str
    bill_run_id: str
    downgrade_run_id: str
    invoice_id: str
    credit_note_id: str


@pytest.fixture(scope="module")
async def billed(billing_sqlite: LiveService, feed: OrderFeed) -> Billed:
    account, seat = unique("acct"), unique("sub")
    await feed.order(account, [item(seat, quantity=10, unit_price=5000, start=YEAR_START,
                                     end=YEAR_END)])  # fmt: skip
    await wait_for_schedules(billing_sqlite, account, 1)
    client = billing_sqlite.client
    march = await bill_run(client, date(2026, 3, 1), account)
    await feed.order(
        account,
        [
            item(
                seat,
                quantity=7,
                quantity_delta=-3,
                unit_price=5000,
                start=date(2026, 3, 20),
                end=YEAR_END,
            )
        ],
        kind="amendment",
    )
    await _wait_quantities(billing_sqlite, account, 2)
    downgrade = await bill_run(client, date(2026, 3, 20), account)
    return Billed(
        account, march["id"], downgrade["id"], march["invoice_ids"][0],
        downgrade["credit_note_ids"][0],
    )  # fmt: skip


async def _wait_quantities(service: LiveService, account: str, count: int) -> None:
    await wait_for_schedule_state(
        service, account, lambda s: sum(len(x["quantities"]) for x in s) >= count
    )


def _endpoints(b: Billed) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every billing endpoint of API.md (and the preview), with a valid request."""
    return [
        ("GET", f"/v1/billing-schedules?account_id={b.account_id}", None),
        ("POST", "/v1/bill-runs", {"as_of": "2026-01-01", "account_id": b.account_id}),
        ("GET", "/v1/bill-runs", None),
        ("GET", f"/v1/bill-runs/{b.bill_run_id}", None),
        ("GET", f"/v1/invoices?account_id={b.account_id}", None),
        ("GET", f"/v1/invoices/{b.invoice_id}", None),
        ("POST", f"/v1/invoices/{b.invoice_id}/void", {"reason": "test"}),
        ("GET", f"/v1/credit-notes?account_id={b.account_id}", None),
        ("GET", f"/v1/credit-notes/{b.credit_note_id}", None),
        ("GET", f"/v1/accounts/{b.account_id}/upcoming-invoice", None),
        ("POST", f"/v1/accounts/{b.account_id}/upcoming-invoice/preview",
         {"contract_id": "contract-1", "effective_date": "2026-04-11",
          "lines": [{"sku": "ADD", "quantity": 1, "unit_price": 100,
                     "billing_period": "month"}]}),
    ]  # fmt: skip


async def _call(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    headers: dict[str, str],
) -> httpx.Response:
    return await client.request(method, path, json=body, headers=headers)


def _assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= set(body)
    return body


async def test_every_endpoint_needs_a_known_key(
    billing_sqlite: LiveService, billed: Billed
) -> None:
    client = billing_sqlite.client
    for method, path, body in _endpoints(billed):
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic k-ops"}):
            response = await _call(client, method, path, body, headers)
            _assert_problem(response, 401)
            assert response.headers["www-authenticate"].lower().startswith("bearer"), path
    shown = (await client.get(f"/v1/invoices/{billed.invoice_id}", headers=READER)).json()
    assert shown["status"] == "posted"


@pytest.mark.parametrize("role", ["sales", "finance"])
async def test_only_ops_and_admin_run_bills_and_void(
    billing_sqlite: LiveService, billed: Billed, role: str
) -> None:
    client = billing_sqlite.client
    run = await client.post("/v1/bill-runs", json={"as_of": "2026-04-01",
                                                   "account_id": billed.account_id},
                            headers=auth(role))  # fmt: skip
    void = await client.post(f"/v1/invoices/{billed.invoice_id}/void", headers=auth(role))

    for response in (run, void):
        body = _assert_problem(response, 403)
        assert role in body["detail"]
    assert (await invoices(client, billed.account_id))[0]["status"] == "posted"
    assert await _runs_of(client, billed.account_id) == [
        billed.bill_run_id, billed.downgrade_run_id,
    ]  # fmt: skip


async def _runs_of(client: httpx.AsyncClient, account_id: str) -> list[str]:
    """Ids of the account's bill runs, walking every page of GET /v1/bill-runs."""
    found: list[str] = []
    params: dict[str, Any] = {"limit": 500}
    while True:
        response = await client.get("/v1/bill-runs", params=params, headers=READER)
        assert response.status_code == 200, response.text
        page = response.json()
        found += [r["id"] for r in page["data"] if r["account_id"] == account_id]
        if page["next_cursor"] is None:
            return found
        params["cursor"] = page["next_cursor"]


@pytest.mark.parametrize("role", ["finance", "ops", "admin"])
async def test_finance_ops_and_admin_read_everything(
    billing_sqlite: LiveService, billed: Billed, role: str
) -> None:
    for method, path, _ in _endpoints(billed):
        if method != "GET":
            continue
        response = await billing_sqlite.client.get(path, headers=auth(role))
        assert response.status_code == 200, (path, response.text)
    preview = _endpoints(billed)[-1]
    response = await _call(billing_sqlite.client, *preview, auth(role))
    assert response.status_code == 200, response.text


async def test_sales_reads_no_billing(billing_sqlite: LiveService, billed: Billed) -> None:
    for method, path, _ in _endpoints(billed):
        if method == "GET":
            _assert_problem(await billing_sqlite.client.get(path, headers=auth("sales")), 403)


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/v1/bill-runs", {"as_of": "2026-13-01"}, "as_of"),
        ("POST", "/v1/bill-runs", {}, "as_of"),
        ("POST", "/v1/bill-runs", {"as_of": "2026-01-01", "account_id": "a b"}, "account_id"),
        ("POST", "/v1/bill-runs", {"as_of": "2026-01-01", "account_id": "x" * 65},
         "account_id"),
        ("POST", "/v1/bill-runs", {"as_of": "2026-01-01", "acount_id": "acme"}, "acount_id"),
        ("GET", "/v1/invoices?account_id=a%20b", None, "account_id"),
        ("GET", "/v1/invoices?status=open", None, "status"),
        ("GET", "/v1/invoices?limit=0", None, "limit"),
        ("GET", "/v1/invoices?limit=501", None, "limit"),
        ("GET", "/v1/invoices?cursor=not-a-cursor", None, "cursor"),
        ("GET", "/v1/credit-notes?limit=0", None, "limit"),
        ("GET", "/v1/credit-notes?cursor=bm90IGEgbGlzdA", None, "cursor"),
        ("GET", "/v1/bill-runs?cursor=%25%25%25", None, "cursor"),
        ("GET", "/v1/billing-schedules?account_id=a%20b", None, "account_id"),
        ("GET", "/v1/billing-schedules?limit=0", None, "limit"),
        ("GET", "/v1/accounts/a%20b/upcoming-invoice", None, "account_id"),
        ("GET", "/v1/accounts/acme/upcoming-invoice?as_of=2026-13-01", None, "as_of"),
        ("POST", "/v1/accounts/acme/upcoming-invoice/preview",
         {"contract_id": "c", "effective_date": "2026-02-30", "lines": [{"quantity": 1}]},
         "effective_date"),
        ("POST", "/v1/accounts/acme/upcoming-invoice/preview",
         {"contract_id": "c", "effective_date": "2026-02-01", "lines": []}, "lines"),
        ("POST", "/v1/accounts/acme/upcoming-invoice/preview",
         {"contract_id": "c", "effective_date": "2026-02-01",
          "lines": [{"subscription_id": "s", "quantity": -1}]}, "lines[0].quantity"),
    ],
)  # fmt: skip
async def test_bad_input_is_a_422_naming_the_field(
    billing_sqlite: LiveService,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    field: str,
) -> None:
    response = await _call(billing_sqlite.client, method, path, body, OPS)

    problem = _assert_problem(response, 422)
    assert [e["field"] for e in problem["errors"]] == [field]


async def test_a_void_body_with_an_unknown_field_is_a_422_and_voids_nothing(
    billing_sqlite: LiveService, billed: Billed
) -> None:
    client = billing_sqlite.client
    response = await client.post(f"/v1/invoices/{billed.invoice_id}/void",
                                 json={"reason": "x", "reasn": "y"}, headers=OPS)  # fmt: skip
    blank = await client.post(f"/v1/invoices/{billed.invoice_id}/void",
                              json={"reason": "   "}, headers=OPS)  # fmt: skip

    assert [e["field"] for e in _assert_problem(response, 422)["errors"]] == ["reasn"]
    assert [e["field"] for e in _assert_problem(blank, 422)["errors"]] == ["reason"]
    shown = (await client.get(f"/v1/invoices/{billed.invoice_id}", headers=READER)).json()
    assert shown["status"] == "posted"


@pytest.mark.parametrize(
    ("path", "slug", "title"),
    [
        ("/v1/invoices/inv_none", "unknown-invoice", "Unknown invoice"),
        ("/v1/invoices/has%20space", "unknown-invoice", "Unknown invoice"),
        ("/v1/invoices/" + "x" * 250, "unknown-invoice", "Unknown invoice"),
        ("/v1/credit-notes/cn_none", "unknown-credit-note", "Unknown credit note"),
        ("/v1/credit-notes/nul%00", "unknown-credit-note", "Unknown credit note"),
        ("/v1/bill-runs/br_none", "unknown-bill-run", "Unknown bill run"),
        ("/v1/bill-runs/%F0%9F%98%80", "unknown-bill-run", "Unknown bill run"),
    ],
)
async def test_an_unknown_id_is_a_404_problem(
    billing_sqlite: LiveService, path: str, slug: str, title: str
) -> None:
    response = await billing_sqlite.client.get(path, headers=READER)

    body = _assert_problem(response, 404)
    assert (body["type"], body["title"]) == (f"https://revline.dev/problems/{slug}", title)


async def test_voiding_an_unknown_invoice_is_a_404(billing_sqlite: LiveService) -> None:
    response = await billing_sqlite.client.post("/v1/invoices/inv_none/void", headers=OPS)
    body = _assert_problem(response, 404)
    assert body["type"] == "https://revline.dev/problems/unknown-invoice"


async def test_the_same_idempotency_key_and_body_answers_the_same_run(
    billing_sqlite: LiveService, feed: OrderFeed
) -> None:
    account = unique("acct")
    await feed.order(account, [item(unique("sub"), quantity=1, unit_price=900,
                                    start=YEAR_START, end=YEAR_END)])  # fmt: skip
    await wait_for_schedules(billing_sqlite, account, 1)
    client = billing_sqlite.client
    key = {"Idempotency-Key": unique("key")}
    body = {"as_of": "2026-02-01", "account_id": account}

    first = await client.post("/v1/bill-runs", json=body, headers={**OPS, **key})
    again = await client.post("/v1/bill-runs", json=body, headers={**OPS, **key})
    other = await client.post("/v1/bill-runs", json={**body, "as_of": "2026-03-01"},
                              headers={**OPS, **key})  # fmt: skip

    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json() == first.json()
    assert first.json()["status"] == "completed" and len(first.json()["invoice_ids"]) == 1
    problem = _assert_problem(other, 422)
    assert problem["type"] == "https://revline.dev/problems/idempotency-key-reused"
    assert [e["field"] for e in problem["errors"]] == ["Idempotency-Key"]
    assert await _runs_of(client, account) == [first.json()["id"]]
    (invoice,) = await invoices(client, account)
    assert invoice["total"] == 1800


async def test_invoices_page_by_page_with_limit_1(
    billing_sqlite: LiveService, feed: OrderFeed
) -> None:
    account = unique("acct")
    await feed.order(account, [item(unique("sub"), quantity=1, unit_price=100,
                                    start=YEAR_START, end=YEAR_END)])  # fmt: skip
    await wait_for_schedules(billing_sqlite, account, 1)
    client = billing_sqlite.client
    for month in (1, 2, 3):
        await bill_run(client, date(2026, month, 1), account)

    pages: list[list[str]] = []
    params: dict[str, Any] = {"account_id": account, "limit": 1}
    while True:
        response = await client.get("/v1/invoices", params=params, headers=READER)
        assert response.status_code == 200, response.text
        pages.append([i["number"] for i in response.json()["data"]])
        if response.json()["next_cursor"] is None:
            break
        params["cursor"] = response.json()["next_cursor"]

    everything = [i["number"] for i in await invoices(client, account)]
    assert len(everything) == 3
    assert pages == [[n] for n in everything]
    assert everything == sorted(everything)


async def test_schedules_show_periods_billed_and_the_next_bill_date(
    billing_sqlite: LiveService, feed: OrderFeed
) -> None:
    account, sub = unique("acct"), unique("sub")
    order = await feed.order(account, [item(sub, quantity=3, unit_price=700, start=YEAR_START,
                                            end=YEAR_END)])  # fmt: skip
    (fresh,) = await wait_for_schedules(billing_sqlite, account, 1)
    client = billing_sqlite.client

    run = await bill_run(client, YEAR_START, account)
    (billed,) = await schedules(client, account)
    await feed.hold(account, order.stream_id)
    (held,) = await wait_for_schedule_state(
        billing_sqlite, account, lambda s: s[0]["next_bill_date"] is None, what="the hold"
    )

    assert (fresh["next_bill_date"], fresh["periods_billed"]) == ("2026-01-01", [])
    assert (fresh["subscription_id"], fresh["account_id"], fresh["sku"]) == (sub, account, "SEAT")
    assert (fresh["billing_period"], fresh["billing_timing"], fresh["unit_price"]) == (
        "month", "advance", 700,
    )  # fmt: skip
    assert fresh["terms"] == [
        {"start_date": "2026-01-01", "end_date": "2026-12-31", "order_id": order.stream_id}
    ]
    assert billed["next_bill_date"] == "2026-02-01"
    assert billed["periods_billed"] == [{
        "document_id": run["invoice_ids"][0], "document_kind": "invoice", "kind": "recurring",
        "period_start": "2026-01-01", "period_end": "2026-01-31", "quantity": 3, "amount": 2100,
    }]  # fmt: skip
    assert held["periods_billed"] == billed["periods_billed"]
    upcoming = await client.get(f"/v1/accounts/{account}/upcoming-invoice", headers=READER)
    assert upcoming.json() == {"account_id": account, "as_of": None, "documents": []}


async def test_the_upcoming_invoice_is_what_the_next_run_bills(
    billing_sqlite: LiveService, feed: OrderFeed
) -> None:
    account = unique("acct")
    start = date(2026, 1, 15)
    await feed.order(account, [
        item(unique("sub"), quantity=10, unit_price=4500, start=start, end=YEAR_END),
        item(unique("sub"), quantity=1, unit_price=25000, start=start, end=YEAR_END,
             sku="SETUP", name="Setup", charge_type="one_time"),
    ])  # fmt: skip
    await wait_for_schedules(billing_sqlite, account, 2)
    client = billing_sqlite.client

    response = await client.get(f"/v1/accounts/{account}/upcoming-invoice", headers=READER)
    assert response.status_code == 200, response.text
    upcoming = response.json()
    run = await bill_run(client, date.fromisoformat(upcoming["as_of"]), account)
    (invoice,) = await invoices(client, account)

    assert upcoming["as_of"] == "2026-01-15"
    (document,) = upcoming["documents"]
    assert run["invoice_ids"] == [invoice["id"]]
    assert document["kind"] == "invoice"
    assert (document["currency"], document["issue_date"], document["due_date"]) == (
        invoice["currency"], invoice["invoice_date"], invoice["due_date"],
    )  # fmt: skip
    assert (document["subtotal"], document["total"]) == (invoice["subtotal"], invoice["total"])
    assert document["lines"] == invoice["lines"]
    assert lines(invoice) == [
        ("recurring", 10, "2026-01-15", "2026-01-31", 24677),
        ("one_time", 1, "2026-01-15", "2026-01-15", 25000),
    ]
    after = await client.get(f"/v1/accounts/{account}/upcoming-invoice", headers=READER)
    assert after.json()["as_of"] == "2026-02-01"
    assert [lines(d) for d in after.json()["documents"]] == [
        [("recurring", 10, "2026-02-01", "2026-02-28", 45000)]
    ]


async def test_preview_of_an_upgrade_shows_the_w9_proration_and_writes_nothing(
    billing_sqlite: LiveService, feed: OrderFeed
) -> None:
    account, sub = unique("acct"), unique("sub")
    await feed.order(account, [item(sub, quantity=10, unit_price=5000, start=YEAR_START,
                                    end=YEAR_END)])  # fmt: skip
    await wait_for_schedules(billing_sqlite, account, 1)
    client = billing_sqlite.client
    await bill_run(client, date(2026, 3, 1), account)
    before = (await schedules(client, account), await invoices(client, account))
    draft = {"contract_id": "contract-1", "effective_date": "2026-03-11",
             "lines": [{"subscription_id": sub, "quantity": 15}]}  # fmt: skip

    response = await client.post(f"/v1/accounts/{account}/upcoming-invoice/preview",
                                 json=draft, headers=READER)  # fmt: skip
    again = await client.post(f"/v1/accounts/{account}/upcoming-invoice/preview",
                              json=draft, headers=READER)  # fmt: skip

    assert response.status_code == 200, response.text
    assert again.json() == response.json()
    preview = response.json()
    assert (preview["account_id"], preview["as_of"]) == (account, "2026-03-11")
    (document,) = preview["documents"]
    assert (document["kind"], document["issue_date"], document["due_date"]) == (
        "invoice", "2026-03-11", "2026-04-10",
    )  # fmt: skip
    assert lines(document) == [("proration", 5, "2026-03-11", "2026-03-31", 16935)]
    assert document["total"] == 16935
    source = document["lines"][0]["source"]
    assert (source["days"], source["nominal_days"], source["quantity_before"],
            source["quantity_after"]) == (21, 31, 10, 15)  # fmt: skip
    assert (await schedules(client, account), await invoices(client, account)) == before
    assert len(await _runs_of(client, account)) == 1  # the March run only
    assert await credit_notes(client, account) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"subscription_id": "sub-unknown", "quantity": 15}, "lines[0].subscription_id"),
        ({"sku": "ADD", "quantity": 1, "unit_price": 100}, "lines[0].billing_period"),
    ],
)
async def test_preview_naming_what_the_contract_lacks_is_a_422(
    billing_sqlite: LiveService, billed: Billed, change: dict[str, Any], field: str
) -> None:
    draft = {"contract_id": "contract-1", "effective_date": "2026-03-25", "lines": [change]}
    response = await billing_sqlite.client.post(
        f"/v1/accounts/{billed.account_id}/upcoming-invoice/preview", json=draft, headers=OPS
    )
    stranger = await billing_sqlite.client.post(
        f"/v1/accounts/{billed.account_id}/upcoming-invoice/preview",
        json={**draft, "contract_id": "contract-unknown"},
        headers=OPS,
    )

    problem = _assert_problem(response, 422)
    assert [e["field"] for e in problem["errors"]] == [field]
    assert [e["field"] for e in _assert_problem(stranger, 422)["errors"]] == ["contract_id"]


async def test_health_readiness_and_metrics_need_no_key(billing_sqlite: LiveService) -> None:
    client = billing_sqlite.client
    health = await client.get("/healthz")
    ready = await client.get("/readyz")
    metrics = await client.get("/metrics")

    assert (health.status_code, health.json()) == (200, {"status": "ok", "service": "billing"})
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "broker": "ok"}
    assert metrics.status_code == 200
    assert "revline_events_handled_total" in metrics.text


async def test_the_admin_endpoints_are_for_admin_only(billing_sqlite: LiveService) -> None:
    client = billing_sqlite.client
    for path in ("/v1/admin/state-digest", "/v1/admin/consumer"):
        _assert_problem(await client.get(path), 401)
        _assert_problem(await client.get(path, headers=OPS), 403)
        assert (await client.get(path, headers=ADMIN)).status_code == 200
    consumer = (await client.get("/v1/admin/consumer", headers=ADMIN)).json()
    assert consumer["topics"] == ["order.events", "ledger.events"]
