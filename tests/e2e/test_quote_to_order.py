"""Quote -> contract -> order across services: new, amendments, hold, renewal, termination."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from e2e_support import ADMIN, OPS, SALES, Stack, accept, first, ok, redelivery_changes_nothing

PRODUCTS = [
    {"sku": "SEAT", "name": "Seat", "currency": "USD", "unit_price": 5000,
     "charge_type": "recurring", "billing_period": "month"},
    {"sku": "SETUP", "name": "Setup", "currency": "USD", "unit_price": 25000,
     "charge_type": "one_time"},
    {"sku": "ADD", "name": "Add-on", "currency": "USD", "unit_price": 9000,
     "charge_type": "recurring", "billing_period": "quarter"},
]  # fmt: skip


def _items(order: dict[str, Any]) -> list[tuple[str, int, int, int, str, str]]:
    return sorted(
        (i["sku"], i["quantity_delta"], i["quantity"], i["unit_price"], i["start_date"],
         i["end_date"])
        for i in order["items"]
    )  # fmt: skip


async def test_a_quote_becomes_a_contract_and_orders_through_its_whole_life(
    stack: Stack,
) -> None:
    account = f"acme-{uuid.uuid4().hex[:8]}"
    contracts, orders = stack["contract"].client, stack["order"].client
    for product in PRODUCTS:
        answer = await stack["quote"].client.post("/v1/products", json=product, headers=SALES)
        assert answer.status_code in (201, 409), answer.text  # the price book outlives a test

    # F1: accepted new business becomes a contract and a "new" order.
    accepted = await accept(stack, {
        "account_id": account, "currency": "USD", "start_date": "2026-01-15",
        "term_months": 12, "bill_cycle_day": 1, "auto_renew": True,
        "lines": [{"sku": "SEAT", "quantity": 10, "discount_percent": "10"},
                  {"sku": "SETUP", "quantity": 1}],
    })  # fmt: skip
    contract = await first(
        contracts, f"/v1/contracts?quote_id={accepted['id']}", lambda c: True, "the contract"
    )
    assert (contract["account_id"], contract["start_date"], contract["end_date"]) == (
        account, "2026-01-15", "2027-01-14",
    )  # fmt: skip
    assert (contract["bill_cycle_day"], contract["status"]) == (1, "active")
    seat = next(s for s in contract["subscriptions"] if s["sku"] == "SEAT")
    assert (seat["quantity"], seat["unit_price"]) == (10, 4500)
    cid = contract["id"]
    new = await first(orders, f"/v1/orders?contract_id={cid}", lambda o: o["kind"] == "new",
                       "the new order")  # fmt: skip
    assert _items(new) == [
        ("SEAT", 10, 10, 4500, "2026-01-15", "2027-01-14"),
        ("SETUP", 1, 1, 25000, "2026-01-15", "2026-01-15"),
    ]

    # Upgrade SEAT to 12 and add ADD from 2026-02-16, co-terminated.
    await accept(stack, {
        "account_id": account, "currency": "USD", "kind": "amendment", "contract_id": cid,
        "start_date": "2026-02-16",
        "lines": [{"sku": "SEAT", "quantity": 12, "subscription_id": seat["id"]},
                  {"sku": "ADD", "quantity": 1}],
    })  # fmt: skip
    upgrade = await first(
        orders, f"/v1/orders?contract_id={cid}",
        lambda o: o["kind"] == "amendment" and o["effective_date"] == "2026-02-16", "the upgrade",
    )  # fmt: skip
    assert _items(upgrade) == [
        ("ADD", 1, 1, 9000, "2026-02-16", "2027-01-14"),
        ("SEAT", 2, 12, 4500, "2026-02-16", "2027-01-14"),
    ]
    added = next(i for i in upgrade["items"] if i["sku"] == "ADD")

    # Downgrade SEAT to 8 and remove ADD from 2026-04-01.
    await accept(stack, {
        "account_id": account, "currency": "USD", "kind": "amendment", "contract_id": cid,
        "start_date": "2026-04-01",
        "lines": [{"sku": "SEAT", "quantity": 8, "subscription_id": seat["id"]},
                  {"sku": "ADD", "quantity": 0, "subscription_id": added["subscription_id"]}],
    })  # fmt: skip
    downgrade = await first(
        orders, f"/v1/orders?contract_id={cid}",
        lambda o: o["kind"] == "amendment" and o["effective_date"] == "2026-04-01",
        "the downgrade",
    )  # fmt: skip
    changes = sorted((i["sku"], i["quantity_delta"], i["quantity"]) for i in downgrade["items"])
    assert changes == [("ADD", -1, 0), ("SEAT", -4, 8)]
    stack.clock.set(datetime(2026, 5, 1, tzinfo=UTC))
    today = await ok(contracts.get(f"/v1/contracts/{cid}", headers=ADMIN))
    assert {s["sku"]: s["quantity"] for s in today["subscriptions"]} == {
        "SEAT": 8,
        "SETUP": 1,
        "ADD": 0,
    }
    assert [a["effective_date"] for a in today["amendments"]] == ["2026-02-16", "2026-04-01"]

    # Hold, release and override the new order's billing.
    path = f"/v1/orders/{new['id']}"
    held = await ok(orders.post(f"{path}/hold", json={"reason": "credit check"}, headers=OPS))
    assert held["billing_hold"]
    again = await orders.post(f"{path}/hold", json={"reason": "twice"}, headers=OPS)
    assert again.status_code == 409
    released = await ok(orders.post(f"{path}/release", headers=OPS))
    assert not released["billing_hold"]
    overridden = await ok(orders.post(
        f"{path}/billing-date-override", json={"next_billing_date": "2026-02-01"}, headers=OPS,
    ))  # fmt: skip
    assert overridden["next_billing_date_override"] == "2026-02-01"

    # The renewal run on the end date renews the auto-renewing contract (W15's convention).
    run = await ok(contracts.post("/v1/renewal-runs", json={"as_of": "2027-01-14"},
                                   headers=OPS), 201)  # fmt: skip
    assert cid in run["renewed"]
    rerun = await ok(contracts.post("/v1/renewal-runs", json={"as_of": "2027-01-14"},
                                     headers=OPS), 201)  # fmt: skip
    assert cid not in rerun["renewed"] and cid not in rerun["expired"]
    renewal = await first(orders, f"/v1/orders?contract_id={cid}",
                           lambda o: o["kind"] == "renewal", "the renewal order")  # fmt: skip
    assert renewal["effective_date"] == "2027-01-15"
    assert ("SEAT", 8) in [(i["sku"], i["quantity"]) for i in renewal["items"]]

    # Terminate with credit from 2027-06-01.
    ended = await ok(contracts.post(
        f"/v1/contracts/{cid}/terminate",
        json={"effective_date": "2027-06-01", "credit_unused": True}, headers=OPS,
    ))  # fmt: skip
    assert (ended["status"], ended["end_date"]) == ("terminated", "2027-05-31")
    twice = await contracts.post(
        f"/v1/contracts/{cid}/terminate",
        json={"effective_date": "2027-06-01", "credit_unused": True}, headers=OPS,
    )  # fmt: skip
    assert twice.status_code == 409
    termination = await first(orders, f"/v1/orders?contract_id={cid}",
                               lambda o: o["kind"] == "termination", "the termination")  # fmt: skip
    assert termination["effective_date"] == "2027-06-01"
    assert ("SEAT", -8, 0) in [(i["sku"], i["quantity_delta"], i["quantity"])
                               for i in termination["items"]]  # fmt: skip

    await redelivery_changes_nothing(
        stack, account, {"contract": "quote.events", "order": "contract.events"}
    )
