"""Quote -> contract -> order -> bill runs across services (BILLING_RULES.md F1, W13, W15-W17).

Every bill run names its account, so tests sharing a stack never bill each other's
accounts; invoice numbers are global, so they are checked relative to each other.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from e2e_support import ADMIN, OPS, SALES, Stack, accept, first, ok, redelivery_changes_nothing
from revline_testkit.live import TopicReader
from revline_testkit.waiting import eventually

PRODUCTS = [
    {"sku": "SEAT", "name": "Seat", "currency": "USD", "unit_price": 5000,
     "charge_type": "recurring", "billing_period": "month"},
    {"sku": "SETUP", "name": "Setup", "currency": "USD", "unit_price": 25000,
     "charge_type": "one_time"},
    {"sku": "SUITE", "name": "Suite", "currency": "USD", "unit_price": 120000,
     "charge_type": "recurring", "billing_period": "year"},
    {"sku": "CARE", "name": "Care", "currency": "USD", "unit_price": 30000,
     "charge_type": "recurring", "billing_period": "quarter"},
]  # fmt: skip

# Every topic of the stack and the service that consumes it (redelivery check).
UPSTREAM = {"contract": "quote.events", "order": "contract.events", "billing": "order.events"}

Line = tuple[str, str, int, str, str, int, int]


async def _price_book(stack: Stack) -> None:
    for product in PRODUCTS:
        answer = await stack["quote"].client.post("/v1/products", json=product, headers=SALES)
        assert answer.status_code in (201, 409), answer.text  # the price book outlives a test


def _account(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def _new_business(
    stack: Stack, account: str, **terms: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Accept a new-business quote; return its contract and its "new" order."""
    quote = await accept(stack, {"account_id": account, "currency": "USD", **terms})
    contract = await first(stack["contract"].client, f"/v1/contracts?quote_id={quote['id']}",
                           lambda c: True, "the contract")  # fmt: skip
    order = await first(stack["order"].client, f"/v1/orders?contract_id={contract['id']}",
                        lambda o: o["kind"] == "new", "the new order")  # fmt: skip
    return contract, order


async def _schedules(stack: Stack, account: str) -> list[dict[str, Any]]:
    body = await ok(stack["billing"].client.get(
        "/v1/billing-schedules", params={"account_id": account, "limit": 500}, headers=ADMIN,
    ))  # fmt: skip
    found: list[dict[str, Any]] = body["data"]
    return found


async def _billing_sees(
    stack: Stack, account: str, keep: Callable[[list[dict[str, Any]]], bool], what: str
) -> list[dict[str, Any]]:
    """Wait until the account's billing schedules satisfy `keep`; return them."""

    async def probe() -> list[dict[str, Any]] | None:
        found = await _schedules(stack, account)
        return found if found and keep(found) else None

    return await eventually(probe, within=30, what=f"billing to see {what}")


def _next_bill_is(expected: str | None) -> Callable[[list[dict[str, Any]]], bool]:
    """The schedules' next bill dates are all `expected` (None: nothing billable, held)."""
    return lambda found: {s["next_bill_date"] for s in found} == {expected}


async def _bill_run(stack: Stack, as_of: str, account: str) -> dict[str, Any]:
    run = await ok(stack["billing"].client.post(
        "/v1/bill-runs", json={"as_of": as_of, "account_id": account}, headers=OPS,
    ), 201)  # fmt: skip
    assert (run["as_of"], run["account_id"], run["status"]) == (as_of, account, "completed")
    return run


async def _documents(stack: Stack, kind: str, account: str) -> list[dict[str, Any]]:
    body = await ok(stack["billing"].client.get(
        f"/v1/{kind}", params={"account_id": account, "limit": 500}, headers=ADMIN,
    ))  # fmt: skip
    found: list[dict[str, Any]] = body["data"]
    return found


def _lines(document: dict[str, Any]) -> list[Line]:
    """(kind, sku, quantity, period_start, period_end, unit_price, amount), in order."""
    return [
        (x["kind"], x["sku"], x["quantity"], x["period_start"], x["period_end"],
         x["unit_price"], x["amount"])
        for x in document["lines"]
    ]  # fmt: skip


def _dated(invoice: dict[str, Any]) -> tuple[str, str, int, int, int, str]:
    """(invoice_date, due_date, subtotal, total, amount_due, status)."""
    return (invoice["invoice_date"], invoice["due_date"], invoice["subtotal"], invoice["total"],
            invoice["amount_due"], invoice["status"])  # fmt: skip


async def _lines_trace_to_their_orders(
    stack: Stack, contract_id: str, invoices: list[dict[str, Any]]
) -> None:
    """F1's provenance: the new order's lines name it, the upgrade's proration and the
    periods after it name the amendment, each with that order's OrderActivated."""
    listed = await ok(stack["order"].client.get(f"/v1/orders?contract_id={contract_id}",
                                                headers=ADMIN))  # fmt: skip
    order_of = {o["kind"]: o["id"] for o in listed["data"]}
    async with TopicReader(stack.bootstrap, "order.events") as reader:
        activated = await reader.read_until(
            lambda read: {e.stream_id for e in read if e.type == "OrderActivated"}
            >= set(order_of.values())
        )
    activation = {e.stream_id: e.event_id for e in activated if e.type == "OrderActivated"}
    new, upgrade = order_of["new"], order_of["amendment"]
    expected = [[new, new], [new], [upgrade, upgrade]]
    for invoice, orders in zip(invoices, expected, strict=True):
        sources = [line["source"] for line in invoice["lines"]]
        assert [s["order_id"] for s in sources] == orders
        assert [s["order_event_ids"] for s in sources] == [[activation[o]] for o in orders]
    proration = invoices[2]["lines"][0]["source"]
    assert (proration["quantity_before"], proration["quantity_after"]) == (10, 12)
    assert (proration["days"], proration["nominal_days"]) == (13, 28)
    assert proration["formula"] == "4500 x 2 x 13/28 = 4178.57 -> 4179"


def _number(document: dict[str, Any], prefix: str) -> int:
    found = re.fullmatch(rf"{prefix}-(\d{{6}})", document["number"])
    assert found, document["number"]
    return int(found.group(1))


async def test_f1_new_business_and_an_upgrade_bill_three_invoices(stack: Stack) -> None:
    account = _account("acme")
    await _price_book(stack)
    contract, _ = await _new_business(stack, account, **{
        "start_date": "2026-01-15", "term_months": 12, "bill_cycle_day": 1,
        "billing_timing": "advance",
        "lines": [{"sku": "SEAT", "quantity": 10, "discount_percent": "10"},
                  {"sku": "SETUP", "quantity": 1}],
    })  # fmt: skip
    assert (contract["start_date"], contract["end_date"]) == ("2026-01-15", "2027-01-14")
    quoted = await ok(stack["quote"].client.get(f"/v1/quotes/{contract['quote_id']}",
                                                headers=ADMIN))  # fmt: skip
    totals = quoted["totals"]
    assert (totals["recurring_per_period"], totals["one_time"],
            totals["total_contract_value"]) == (45000, 25000, 565000)  # fmt: skip
    await _billing_sees(stack, account, lambda s: len(s) == 2, "the new order")

    january = await _bill_run(stack, "2026-01-15", account)
    february = await _bill_run(stack, "2026-02-01", account)

    # The upgrade is accepted after the 02-01 run: its proration bills on 03-01.
    seat = next(s for s in contract["subscriptions"] if s["sku"] == "SEAT")
    await accept(stack, {
        "account_id": account, "currency": "USD", "kind": "amendment",
        "contract_id": contract["id"], "start_date": "2026-02-16",
        "lines": [{"sku": "SEAT", "quantity": 12, "subscription_id": seat["id"]}],
    })  # fmt: skip
    await _billing_sees(
        stack, account,
        lambda found: any((q["effective_date"], q["quantity"]) == ("2026-02-16", 12)
                          for s in found if s["sku"] == "SEAT" for q in s["quantities"]),
        "SEAT at 12 from 2026-02-16",
    )  # fmt: skip
    march = await _bill_run(stack, "2026-03-01", account)
    rerun = await _bill_run(stack, "2026-03-01", account)

    invoices = await _documents(stack, "invoices", account)
    assert [i["id"] for i in invoices] == (
        january["invoice_ids"] + february["invoice_ids"] + march["invoice_ids"]
    )
    assert rerun["invoice_ids"] == [] and rerun["credit_note_ids"] == []
    assert await _documents(stack, "credit-notes", account) == []
    first_number = _number(invoices[0], "INV")
    assert [_number(i, "INV") for i in invoices] == [first_number + n for n in range(3)]
    assert [_lines(i) for i in invoices] == [
        [("recurring", "SEAT", 10, "2026-01-15", "2026-01-31", 4500, 24677),
         ("one_time", "SETUP", 1, "2026-01-15", "2026-01-15", 25000, 25000)],
        [("recurring", "SEAT", 10, "2026-02-01", "2026-02-28", 4500, 45000)],
        [("proration", "SEAT", 2, "2026-02-16", "2026-02-28", 4500, 4179),
         ("recurring", "SEAT", 12, "2026-03-01", "2026-03-31", 4500, 54000)],
    ]  # fmt: skip
    assert [_dated(i) for i in invoices] == [
        ("2026-01-15", "2026-02-14", 49677, 49677, 49677, "posted"),
        ("2026-02-01", "2026-03-03", 45000, 45000, 45000, "posted"),
        ("2026-03-01", "2026-03-31", 58179, 58179, 58179, "posted"),
    ]
    assert {i["account_id"] for i in invoices} == {account}
    await _lines_trace_to_their_orders(stack, contract["id"], invoices)

    await redelivery_changes_nothing(stack, account, UPSTREAM)


async def test_w16_hold_and_release_and_w17_billing_date_override(stack: Stack) -> None:
    await _price_book(stack)
    orders = stack["order"].client
    monthly = {"start_date": "2026-01-01", "term_months": 12, "bill_cycle_day": 1,
               "lines": [{"sku": "SEAT", "quantity": 5, "unit_price": 2000}]}  # fmt: skip

    # W16: held from the start, released 2026-02-10.
    held_account = _account("held")
    _, held = await _new_business(stack, held_account, **monthly)
    path = f"/v1/orders/{held['id']}"
    on_hold = await ok(orders.post(f"{path}/hold", json={"reason": "PO missing"}, headers=OPS))
    assert on_hold["billing_hold"]
    await _billing_sees(stack, held_account, _next_bill_is(None), "the hold")
    nothing = [await _bill_run(stack, d, held_account) for d in ("2026-01-01", "2026-02-01")]
    assert [r["invoice_ids"] for r in nothing] == [[], []]

    released = await ok(orders.post(f"{path}/release", headers=OPS))
    assert not released["billing_hold"]
    await _billing_sees(stack, held_account, _next_bill_is("2026-01-01"), "the release")
    both = await _bill_run(stack, "2026-02-15", held_account)
    normal = await _bill_run(stack, "2026-03-01", held_account)
    invoices = await _documents(stack, "invoices", held_account)
    assert [i["id"] for i in invoices] == both["invoice_ids"] + normal["invoice_ids"]
    assert [_lines(i) for i in invoices] == [
        [("recurring", "SEAT", 5, "2026-01-01", "2026-01-31", 2000, 10000),
         ("recurring", "SEAT", 5, "2026-02-01", "2026-02-28", 2000, 10000)],
        [("recurring", "SEAT", 5, "2026-03-01", "2026-03-31", 2000, 10000)],
    ]  # fmt: skip
    assert [_dated(i)[:4] for i in invoices] == [
        ("2026-02-15", "2026-03-17", 20000, 20000),
        ("2026-03-01", "2026-03-31", 10000, 10000),
    ]

    # W17: the same subscription, its next billing date overridden to 2026-01-20.
    late_account = _account("late")
    _, late = await _new_business(stack, late_account, **monthly)
    overridden = await ok(orders.post(
        f"/v1/orders/{late['id']}/billing-date-override",
        json={"next_billing_date": "2026-01-20"}, headers=OPS,
    ))  # fmt: skip
    assert overridden["next_billing_date_override"] == "2026-01-20"
    await _billing_sees(stack, late_account, _next_bill_is("2026-01-20"), "the override")
    runs = [await _bill_run(stack, d, late_account)
            for d in ("2026-01-01", "2026-01-20", "2026-02-01")]  # fmt: skip
    assert runs[0]["invoice_ids"] == []
    invoices = await _documents(stack, "invoices", late_account)
    assert [i["id"] for i in invoices] == runs[1]["invoice_ids"] + runs[2]["invoice_ids"]
    assert [_lines(i) for i in invoices] == [
        [("recurring", "SEAT", 5, "2026-01-01", "2026-01-31", 2000, 10000)],
        [("recurring", "SEAT", 5, "2026-02-01", "2026-02-28", 2000, 10000)],
    ]
    assert [_dated(i)[:4] for i in invoices] == [
        ("2026-01-20", "2026-02-19", 10000, 10000),
        ("2026-02-01", "2026-03-03", 10000, 10000),
    ]

    for account in (held_account, late_account):
        await redelivery_changes_nothing(stack, account, UPSTREAM)


async def test_w13_termination_with_credit_issues_a_credit_note(stack: Stack) -> None:
    account = _account("ends")
    await _price_book(stack)
    contract, _ = await _new_business(stack, account, **{
        "start_date": "2026-01-01", "term_months": 12, "bill_cycle_day": 1,
        "lines": [{"sku": "SUITE", "quantity": 2}],
    })  # fmt: skip
    await _billing_sees(stack, account, lambda s: len(s) == 1, "the new order")
    year = await _bill_run(stack, "2026-01-01", account)
    (invoice,) = await _documents(stack, "invoices", account)
    assert year["invoice_ids"] == [invoice["id"]]
    assert _lines(invoice) == [
        ("recurring", "SUITE", 2, "2026-01-01", "2026-12-31", 120000, 240000)
    ]

    ended = await ok(stack["contract"].client.post(
        f"/v1/contracts/{contract['id']}/terminate",
        json={"effective_date": "2026-09-01", "credit_unused": True}, headers=OPS,
    ))  # fmt: skip
    assert (ended["status"], ended["end_date"]) == ("terminated", "2026-08-31")
    await _billing_sees(
        stack, account,
        lambda s: any(q["termination"] and q["effective_date"] == "2026-09-01"
                      for q in s[0]["quantities"]),
        "the termination",
    )  # fmt: skip
    run = await _bill_run(stack, "2026-09-01", account)

    (note,) = await _documents(stack, "credit-notes", account)
    assert (run["invoice_ids"], run["credit_note_ids"]) == ([], [note["id"]])
    _number(note, "CN")
    assert (note["account_id"], note["issue_date"], note["total"]) == (
        account, "2026-09-01", 80219,
    )  # fmt: skip
    assert _lines(note) == [("credit", "SUITE", 2, "2026-09-01", "2026-12-31", 120000, -80219)]
    assert len(await _documents(stack, "invoices", account)) == 1

    await redelivery_changes_nothing(stack, account, UPSTREAM)


async def test_w15_an_auto_renewed_contract_in_arrears_bills_the_straddling_quarter_as_two_stubs(
    stack: Stack,
) -> None:
    account = _account("renews")
    await _price_book(stack)
    contract, _ = await _new_business(stack, account, **{
        "start_date": "2026-03-15", "term_months": 12, "bill_cycle_day": 1,
        "billing_timing": "arrears", "auto_renew": True,
        "lines": [{"sku": "CARE", "quantity": 1}],
    })  # fmt: skip
    assert (contract["end_date"], contract["billing_timing"]) == ("2027-03-14", "arrears")
    await _billing_sees(stack, account, _next_bill_is("2026-04-01"), "the new order")

    # Arrears: each span bills the day after its last day.
    nothing = await _bill_run(stack, "2026-03-31", account)
    stub = await _bill_run(stack, "2026-04-01", account)
    year = await _bill_run(stack, "2027-01-01", account)

    renewal = await ok(stack["contract"].client.post(
        "/v1/renewal-runs", json={"as_of": "2027-03-14"}, headers=OPS,
    ), 201)  # fmt: skip
    assert contract["id"] in renewal["renewed"]
    await _billing_sees(stack, account, lambda s: len(s[0]["terms"]) == 2, "the renewal term")
    straddling = await _bill_run(stack, "2027-04-01", account)

    assert nothing["invoice_ids"] == []
    invoices = await _documents(stack, "invoices", account)
    assert [i["id"] for i in invoices] == (
        stub["invoice_ids"] + year["invoice_ids"] + straddling["invoice_ids"]
    )
    assert [_lines(i) for i in invoices] == [
        [("recurring", "CARE", 1, "2026-03-15", "2026-03-31", 30000, 5667)],
        [("recurring", "CARE", 1, "2026-04-01", "2026-06-30", 30000, 30000),
         ("recurring", "CARE", 1, "2026-07-01", "2026-09-30", 30000, 30000),
         ("recurring", "CARE", 1, "2026-10-01", "2026-12-31", 30000, 30000)],
        [("recurring", "CARE", 1, "2027-01-01", "2027-03-14", 30000, 24333),
         ("recurring", "CARE", 1, "2027-03-15", "2027-03-31", 30000, 5667)],
    ]  # fmt: skip
    assert [_dated(i)[:4] for i in invoices] == [
        ("2026-04-01", "2026-05-01", 5667, 5667),
        ("2027-01-01", "2027-01-31", 90000, 90000),
        ("2027-04-01", "2027-05-01", 30000, 30000),
    ]

    await redelivery_changes_nothing(stack, account, UPSTREAM)
