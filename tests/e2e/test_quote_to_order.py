"""Quote -> contract -> order across services: new, amendments, hold, renewal, termination."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from revline_events.kafka import new_producer
from revline_events.testing.waiting import eventually
from revline_service.testing import auth

# The `stack` fixture (tests/e2e/conftest.py): services by name, .bootstrap, .clock.
Stack = Any

SALES, OPS, ADMIN = auth("sales"), auth("ops"), auth("admin")

PRODUCTS = [
    {"sku": "SEAT", "name": "Seat", "currency": "USD", "unit_price": 5000,
     "charge_type": "recurring", "billing_period": "month"},
    {"sku": "SETUP", "name": "Setup", "currency": "USD", "unit_price": 25000,
     "charge_type": "one_time"},
    {"sku": "ADD", "name": "Add-on", "currency": "USD", "unit_price": 9000,
     "charge_type": "recurring", "billing_period": "quarter"},
]  # fmt: skip


async def _ok(response: Awaitable[httpx.Response], status: int = 200) -> dict[str, Any]:
    answer = await response
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _first(
    client: httpx.AsyncClient, path: str, keep: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        answer = await client.get(path, headers=ADMIN)
        assert answer.status_code == 200, answer.text
        return next((item for item in answer.json()["data"] if keep(item)), None)

    return await eventually(probe, within=30, what=what)


async def _accept(stack: Stack, body: dict[str, Any]) -> dict[str, Any]:
    """Create the quote (once the quote service knows its contract) and accept it."""
    quote = stack["quote"].client

    async def created() -> dict[str, Any] | None:
        answer = await quote.post("/v1/quotes", json=body, headers=SALES)
        if answer.status_code == 422 and "not known" in answer.text:
            return None  # contract.events not consumed yet
        assert answer.status_code == 201, answer.text
        result: dict[str, Any] = answer.json()
        return result

    draft = await eventually(created, within=30, what="the quote to be created")
    return await _ok(quote.post(f"/v1/quotes/{draft['id']}/accept", headers=SALES))


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
    accepted = await _accept(stack, {
        "account_id": account, "currency": "USD", "start_date": "2026-01-15",
        "term_months": 12, "bill_cycle_day": 1, "auto_renew": True,
        "lines": [{"sku": "SEAT", "quantity": 10, "discount_percent": "10"},
                  {"sku": "SETUP", "quantity": 1}],
    })  # fmt: skip
    contract = await _first(
        contracts, f"/v1/contracts?quote_id={accepted['id']}", lambda c: True, "the contract"
    )
    assert (contract["account_id"], contract["start_date"], contract["end_date"]) == (
        account, "2026-01-15", "2027-01-14",
    )  # fmt: skip
    assert (contract["bill_cycle_day"], contract["status"]) == (1, "active")
    seat = next(s for s in contract["subscriptions"] if s["sku"] == "SEAT")
    assert (seat["quantity"], seat["unit_price"]) == (10, 4500)
    cid = contract["id"]
    new = await _first(orders, f"/v1/orders?contract_id={cid}", lambda o: o["kind"] == "new",
                       "the new order")  # fmt: skip
    assert _items(new) == [
        ("SEAT", 10, 10, 4500, "2026-01-15", "2027-01-14"),
        ("SETUP", 1, 1, 25000, "2026-01-15", "2026-01-15"),
    ]

    # Upgrade SEAT to 12 and add ADD from 2026-02-16, co-terminated.
    await _accept(stack, {
        "account_id": account, "currency": "USD", "kind": "amendment", "contract_id": cid,
        "start_date": "2026-02-16",
        "lines": [{"sku": "SEAT", "quantity": 12, "subscription_id": seat["id"]},
                  {"sku": "ADD", "quantity": 1}],
    })  # fmt: skip
    upgrade = await _first(
        orders, f"/v1/orders?contract_id={cid}",
        lambda o: o["kind"] == "amendment" and o["effective_date"] == "2026-02-16", "the upgrade",
    )  # fmt: skip
    assert _items(upgrade) == [
        ("ADD", 1, 1, 9000, "2026-02-16", "2027-01-14"),
        ("SEAT", 2, 12, 4500, "2026-02-16", "2027-01-14"),
    ]
    added = next(i for i in upgrade["items"] if i["sku"] == "ADD")

    # Downgrade SEAT to 8 and remove ADD from 2026-04-01.
    await _accept(stack, {
        "account_id": account, "currency": "USD", "kind": "amendment", "contract_id": cid,
        "start_date": "2026-04-01",
        "lines": [{"sku": "SEAT", "quantity": 8, "subscription_id": seat["id"]},
                  {"sku": "ADD", "quantity": 0, "subscription_id": added["subscription_id"]}],
    })  # fmt: skip
    downgrade = await _first(
        orders, f"/v1/orders?contract_id={cid}",
        lambda o: o["kind"] == "amendment" and o["effective_date"] == "2026-04-01",
        "the downgrade",
    )  # fmt: skip
    changes = sorted((i["sku"], i["quantity_delta"], i["quantity"]) for i in downgrade["items"])
    assert changes == [("ADD", -1, 0), ("SEAT", -4, 8)]
    stack.clock.set(datetime(2026, 5, 1, tzinfo=UTC))
    today = await _ok(contracts.get(f"/v1/contracts/{cid}", headers=ADMIN))
    assert {s["sku"]: s["quantity"] for s in today["subscriptions"]} == {
        "SEAT": 8,
        "SETUP": 1,
        "ADD": 0,
    }
    assert [a["effective_date"] for a in today["amendments"]] == ["2026-02-16", "2026-04-01"]

    # Hold, release and override the new order's billing.
    path = f"/v1/orders/{new['id']}"
    held = await _ok(orders.post(f"{path}/hold", json={"reason": "credit check"}, headers=OPS))
    assert held["billing_hold"]
    again = await orders.post(f"{path}/hold", json={"reason": "twice"}, headers=OPS)
    assert again.status_code == 409
    released = await _ok(orders.post(f"{path}/release", headers=OPS))
    assert not released["billing_hold"]
    overridden = await _ok(orders.post(
        f"{path}/billing-date-override", json={"next_billing_date": "2026-02-01"}, headers=OPS,
    ))  # fmt: skip
    assert overridden["next_billing_date_override"] == "2026-02-01"

    # The renewal run on the end date renews the auto-renewing contract (W15's convention).
    run = await _ok(contracts.post("/v1/renewal-runs", json={"as_of": "2027-01-14"},
                                   headers=OPS), 201)  # fmt: skip
    assert cid in run["renewed"]
    rerun = await _ok(contracts.post("/v1/renewal-runs", json={"as_of": "2027-01-14"},
                                     headers=OPS), 201)  # fmt: skip
    assert cid not in rerun["renewed"] and cid not in rerun["expired"]
    renewal = await _first(orders, f"/v1/orders?contract_id={cid}",
                           lambda o: o["kind"] == "renewal", "the renewal order")  # fmt: skip
    assert renewal["effective_date"] == "2027-01-15"
    assert ("SEAT", 8) in [(i["sku"], i["quantity"]) for i in renewal["items"]]

    # Terminate with credit from 2027-06-01.
    ended = await _ok(contracts.post(
        f"/v1/contracts/{cid}/terminate",
        json={"effective_date": "2027-06-01", "credit_unused": True}, headers=OPS,
    ))  # fmt: skip
    assert (ended["status"], ended["end_date"]) == ("terminated", "2027-05-31")
    twice = await contracts.post(
        f"/v1/contracts/{cid}/terminate",
        json={"effective_date": "2027-06-01", "credit_unused": True}, headers=OPS,
    )  # fmt: skip
    assert twice.status_code == 409
    termination = await _first(orders, f"/v1/orders?contract_id={cid}",
                               lambda o: o["kind"] == "termination", "the termination")  # fmt: skip
    assert termination["effective_date"] == "2027-06-01"
    assert ("SEAT", -8, 0) in [(i["sku"], i["quantity_delta"], i["quantity"])
                               for i in termination["items"]]  # fmt: skip

    await _redelivery_changes_nothing(stack, account)


async def _redelivery_changes_nothing(stack: Stack, account: str) -> None:
    """Publish every event of the scenario a second time: state digests stay equal."""
    before = {n: await _digest(stack, n) for n in ("contract", "order")}
    handled = {n: await _taken(stack, n) for n in ("contract", "order")}
    resent = {t: await _resend(stack.bootstrap, t, account) for t in
              ("quote.events", "contract.events")}  # fmt: skip
    expected = {"contract": resent["quote.events"], "order": resent["contract.events"]}

    for name in ("contract", "order"):

        async def caught_up(name: str = name) -> bool:
            return await _taken(stack, name) >= handled[name] + expected[name]

        await eventually(caught_up, within=30, what=f"{name} to take the redelivered events")
    assert {n: await _digest(stack, n) for n in ("contract", "order")} == before


async def _digest(stack: Stack, name: str) -> str:
    body = await _ok(stack[name].client.get("/v1/admin/state-digest", headers=ADMIN))
    digest: str = body["digest"]
    return digest


async def _taken(stack: Stack, name: str) -> int:
    """Redelivered or ignored upstream events the service has taken (from /metrics)."""
    text = (await stack[name].client.get("/metrics")).text
    pattern = re.compile(
        rf'^revline_events_handled_total\{{[^}}]*outcome="(duplicate|ignored)"[^}}]*'
        rf'service="{name}"[^}}]*\}} ([0-9.e+]+)$|'
        rf'^revline_events_handled_total\{{[^}}]*service="{name}"[^}}]*'
        rf'outcome="(duplicate|ignored)"[^}}]*\}} ([0-9.e+]+)$',
        re.M,
    )
    return sum(int(float(m.group(2) or m.group(4))) for m in pattern.finditer(text))


async def _resend(bootstrap: str, topic: str, account: str) -> int:
    """Publish again, unchanged, every record of `account` on `topic`; return how many."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, fetch_max_wait_ms=10,
                                enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    try:
        await consumer.topics()  # load metadata
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records = []
        # The fetch high watermark, not ListOffsets (wrong on the dev broker), says when
        # every partition has been read to its end.
        while True:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records += [r for r in batch if r.key == account.encode()]
            highs = [consumer.highwater(tp) for tp in partitions]
            positions = [await consumer.position(tp) for tp in partitions]
            if all(h is not None and p >= h for h, p in zip(highs, positions, strict=True)):
                break
    finally:
        await consumer.stop()
    producer = new_producer(bootstrap, "e2e-redelivery")
    await producer.start()
    try:
        for record in records:
            await producer.send(topic, value=record.value, key=record.key)
        await producer.flush()
    finally:
        await producer.stop()
    return len(records)
