"""Contract events on contract.events become orders: one per change, with exact items."""

from __future__ import annotations

from datetime import date
from typing import Any

from order_feed import ORDER_EVENTS, READER, ContractFeed, orders_of, subscription, wait_for_orders
from revline_events.envelope import Envelope
from revline_events.payloads.contract import (
    ContractAmended,
    ContractExpired,
    ContractRenewed,
    ContractTerminated,
    SubscriptionChange,
    SubscriptionData,
)
from revline_testkit.live import LiveService, TopicReader, stored_events
from revline_testkit.topics import unique

YEAR_START, YEAR_END = date(2026, 1, 1), date(2026, 12, 31)


def a_seat() -> SubscriptionData:
    """A subscription of its own (ids are unique across contracts, as the contract
    service makes them): one seat at 100 over 2026."""
    return subscription(unique("sub"), quantity=1, unit_price=100, start=YEAR_START, end=YEAR_END)


def items(order: dict[str, Any]) -> list[tuple[Any, ...]]:
    """(subscription, delta, quantity, unit price, start, end) of each item."""
    return [
        (i["subscription_id"], i["quantity_delta"], i["quantity"], i["unit_price"],
         i["start_date"], i["end_date"])
        for i in order["items"]
    ]  # fmt: skip


async def test_contract_created_becomes_an_activated_new_order(
    order_service: LiveService, feed: ContractFeed
) -> None:
    # F1: SEAT x10 at net 4500 a month, SETUP x1 at 25000; 2026-01-15..2027-01-14, BCD 1.
    account = unique("acct")
    contract = feed.contract(account)
    seat = subscription(unique("sub"), quantity=10, unit_price=4500,
                        start=date(2026, 1, 15), end=date(2027, 1, 14))  # fmt: skip
    setup = subscription(unique("sub"), quantity=1, unit_price=25000, sku="SETUP", name="Setup",
                         charge_type="one_time", billing_period=None,
                         start=date(2026, 1, 15), end=date(2026, 1, 15))  # fmt: skip
    await contract.publish(contract.created([seat, setup], start=date(2026, 1, 15),
                                            end=date(2027, 1, 14)))  # fmt: skip

    (listed,) = await wait_for_orders(order_service.client, 1, contract_id=contract.contract_id)
    fetched = await order_service.client.get(f"/v1/orders/{listed['id']}", headers=READER)

    assert fetched.status_code == 200
    order = fetched.json()
    assert order == listed
    assert order["id"].startswith("or_")
    assert {k: v for k, v in order.items() if k not in ("id", "items")} == {
        "contract_id": contract.contract_id, "account_id": account, "status": "activated",
        "kind": "new", "effective_date": "2026-01-15", "currency": "USD", "bill_cycle_day": 1,
        "billing_timing": "advance", "contract_end_date": "2027-01-14", "credit_unused": False,
        "billing_hold": False, "hold_reason": None, "held_since": None,
        "next_billing_date_override": None,
        "created_at": "2026-01-10T09:30:00Z", "updated_at": "2026-01-10T09:30:00Z",
    }  # fmt: skip
    assert order["items"] == [
        {"subscription_id": seat.subscription_id, "sku": "SEAT", "name": "Seat",
         "charge_type": "recurring", "billing_period": "month", "quantity_delta": 10,
         "quantity": 10, "unit_price": 4500, "start_date": "2026-01-15",
         "end_date": "2027-01-14"},
        {"subscription_id": setup.subscription_id, "sku": "SETUP", "name": "Setup",
         "charge_type": "one_time", "billing_period": None, "quantity_delta": 1,
         "quantity": 1, "unit_price": 25000, "start_date": "2026-01-15",
         "end_date": "2026-01-15"},
    ]  # fmt: skip


async def test_order_activated_carries_everything_billing_needs(
    order_service: LiveService, feed: ContractFeed
) -> None:
    account = unique("acct")
    contract = feed.contract(account)
    seat = subscription(unique("sub"), quantity=5, unit_price=2000, start=YEAR_START,
                        end=YEAR_END)  # fmt: skip
    created = await contract.publish(
        contract.created([seat], start=YEAR_START, end=YEAR_END, bill_cycle_day=15,
                         billing_timing="arrears", currency="EUR"),
        effective_date=YEAR_START,
    )  # fmt: skip
    (order,) = await wait_for_orders(order_service.client, 1, contract_id=contract.contract_id)

    def published(envelopes: list[Envelope]) -> bool:
        return any(e.stream_id == order["id"] for e in envelopes)

    bootstrap = order_service.runtime.settings.kafka_bootstrap
    async with TopicReader(bootstrap, ORDER_EVENTS) as topic:
        await topic.read_until(published)
        (activated,) = topic.of_stream(order["id"])
        key = topic.keys[activated.event_id]

    assert key == account.encode()
    assert (activated.type, activated.stream_version, activated.producer) == (
        "OrderActivated", 1, "order",
    )  # fmt: skip
    assert activated.account_id == account
    assert activated.effective_date == YEAR_START
    assert activated.causation_id == created.event_id
    assert activated.correlation_id == created.correlation_id
    assert activated.payload == {
        "order_id": order["id"], "contract_id": contract.contract_id, "account_id": account,
        "kind": "new", "currency": "EUR", "effective_date": "2026-01-01", "bill_cycle_day": 15,
        "billing_timing": "arrears", "contract_end_date": "2026-12-31", "credit_unused": False,
        "items": [{"subscription_id": seat.subscription_id, "sku": "SEAT", "name": "Seat",
                   "charge_type": "recurring", "billing_period": "month",
                   "quantity_delta": 5, "quantity": 5, "unit_price": 2000,
                   "start_date": "2026-01-01", "end_date": "2026-12-31"}],
    }  # fmt: skip
    stored = await stored_events(order_service, order["id"])
    assert [e.event_id for e in stored] == [activated.event_id]


async def test_amendment_orders_upgrade_downgrade_addition_and_removal(
    order_service: LiveService, feed: ContractFeed
) -> None:
    account = unique("acct")
    contract = feed.contract(account)
    up, down, gone = (unique(n) for n in ("sub-up", "sub-down", "sub-gone"))
    await contract.publish(contract.created([
        subscription(up, quantity=10, unit_price=5000, start=YEAR_START, end=YEAR_END),
        subscription(down, quantity=10, unit_price=3000, sku="SUPPORT", name="Support",
                     start=YEAR_START, end=YEAR_END),
        subscription(gone, quantity=4, unit_price=1000, sku="STORAGE", name="Storage",
                     start=YEAR_START, end=YEAR_END),
    ], start=YEAR_START, end=YEAR_END))  # fmt: skip
    added = subscription(unique("sub-add"), quantity=1, unit_price=9000, sku="ADD",
                         name="Add-on", billing_period="quarter",
                         start=date(2026, 5, 20), end=YEAR_END)  # fmt: skip

    def change(sub: str, before: int, after: int, price: int, sku: str) -> SubscriptionChange:
        data = subscription(sub, quantity=after, unit_price=price, sku=sku, name=sku.title(),
                            start=YEAR_START, end=YEAR_END)  # fmt: skip
        return SubscriptionChange(subscription=data, quantity_before=before, quantity_after=after)

    # W9 upgrade (10 -> 15), W10 downgrade (10 -> 7), W12 addition, and a removal (4 -> 0).
    await contract.publish(ContractAmended(
        contract_id=contract.contract_id, account_id=account, quote_id=unique("qt"),
        effective_date=date(2026, 5, 20),
        changes=[change(up, 10, 15, 5000, "SEAT"), change(down, 10, 7, 3000, "SUPPORT"),
                 SubscriptionChange(subscription=added, quantity_before=0, quantity_after=1),
                 change(gone, 4, 0, 1000, "STORAGE")],
    ))  # fmt: skip

    new, amendment = await wait_for_orders(
        order_service.client, 2, contract_id=contract.contract_id
    )

    assert new["kind"] == "new"
    assert (amendment["kind"], amendment["effective_date"]) == ("amendment", "2026-05-20")
    assert amendment["contract_end_date"] == "2026-12-31"
    assert amendment["id"] > new["id"]
    assert items(amendment) == [
        (up, 5, 15, 5000, "2026-05-20", "2026-12-31"),
        (down, -3, 7, 3000, "2026-05-20", "2026-12-31"),
        (added.subscription_id, 1, 1, 9000, "2026-05-20", "2026-12-31"),
        (gone, -4, 0, 1000, "2026-05-20", "2026-12-31"),
    ]  # fmt: skip

    # The service's view of the contract moved on: a termination ends what is left.
    await contract.publish(ContractTerminated(
        contract_id=contract.contract_id, account_id=account, effective_date=date(2026, 10, 1),
        end_date=date(2026, 9, 30), credit_unused=False,
    ))  # fmt: skip
    *_, termination = await wait_for_orders(
        order_service.client, 3, contract_id=contract.contract_id
    )
    assert items(termination) == [
        (up, -15, 0, 5000, "2026-10-01", "2026-12-31"),
        (down, -7, 0, 3000, "2026-10-01", "2026-12-31"),
        (added.subscription_id, -1, 0, 9000, "2026-10-01", "2026-12-31"),
    ]  # fmt: skip


async def test_renewal_orders_the_new_term_with_the_contracts_billing_terms(
    order_service: LiveService, feed: ContractFeed
) -> None:
    # W15: 2026-03-15..2027-03-14, quarterly 30000, BCD 1; renewed 2027-03-15..2028-03-14.
    account = unique("acct")
    contract = feed.contract(account)
    platform = unique("sub")
    await contract.publish(contract.created(
        [subscription(platform, quantity=1, unit_price=30000, sku="PLAT", name="Platform",
                      billing_period="quarter", start=date(2026, 3, 15), end=date(2027, 3, 14))],
        start=date(2026, 3, 15), end=date(2027, 3, 14), billing_timing="arrears",
    ))  # fmt: skip
    await contract.publish(ContractRenewed(
        contract_id=contract.contract_id, account_id=account, quote_id=None,
        term_start=date(2027, 3, 15), term_end=date(2028, 3, 14), term_months=12,
        previous_end_date=date(2027, 3, 14),
        subscriptions=[subscription(platform, quantity=1, unit_price=30000, sku="PLAT",
                                    name="Platform", billing_period="quarter",
                                    start=date(2027, 3, 15), end=date(2028, 3, 14))],
    ))  # fmt: skip

    _, renewal = await wait_for_orders(order_service.client, 2, contract_id=contract.contract_id)

    assert (renewal["kind"], renewal["effective_date"]) == ("renewal", "2027-03-15")
    assert renewal["contract_end_date"] == "2028-03-14"
    assert (renewal["currency"], renewal["bill_cycle_day"], renewal["billing_timing"]) == (
        "USD", 1, "arrears",
    )  # fmt: skip
    assert items(renewal) == [(platform, 1, 1, 30000, "2027-03-15", "2028-03-14")]


async def test_termination_with_credit_orders_every_unit_off_from_t(
    order_service: LiveService, feed: ContractFeed
) -> None:
    # W13: yearly 120000 x 2 over 2026, T 2026-09-01, credit_unused.
    account = unique("acct")
    contract = feed.contract(account)
    platform = unique("sub")
    await contract.publish(contract.created(
        [subscription(platform, quantity=2, unit_price=120000, sku="PLAT", name="Platform",
                      billing_period="year", start=YEAR_START, end=YEAR_END)],
        start=YEAR_START, end=YEAR_END,
    ))  # fmt: skip
    await contract.publish(ContractTerminated(
        contract_id=contract.contract_id, account_id=account, effective_date=date(2026, 9, 1),
        end_date=date(2026, 8, 31), credit_unused=True,
        subscriptions=[subscription(platform, quantity=2, unit_price=120000, sku="PLAT",
                                    name="Platform", billing_period="year",
                                    start=YEAR_START, end=date(2026, 8, 31))],
    ))  # fmt: skip

    _, termination = await wait_for_orders(
        order_service.client, 2, contract_id=contract.contract_id
    )

    assert (termination["kind"], termination["effective_date"]) == ("termination", "2026-09-01")
    assert termination["contract_end_date"] == "2026-08-31"
    assert termination["credit_unused"] is True
    assert items(termination) == [(platform, -2, 0, 120000, "2026-09-01", "2026-12-31")]


async def test_contract_expired_makes_no_order(
    order_service: LiveService, feed: ContractFeed
) -> None:
    account = unique("acct")
    expiring, later = feed.contract(account), feed.contract(account)
    await expiring.publish(expiring.created([a_seat()], start=YEAR_START, end=YEAR_END))
    await expiring.publish(ContractExpired(
        contract_id=expiring.contract_id, account_id=account, end_date=YEAR_END,
    ))  # fmt: skip
    # Same account, so the same partition: once this one is ordered, the expiry was handled.
    await later.publish(later.created([a_seat()], start=YEAR_START, end=YEAR_END))

    await wait_for_orders(order_service.client, 1, contract_id=later.contract_id)

    orders = await orders_of(order_service.client, contract_id=expiring.contract_id)
    assert [o["kind"] for o in orders] == ["new"]


async def test_orders_list_by_account_and_contract_a_page_at_a_time(
    order_service: LiveService, feed: ContractFeed
) -> None:
    account, other = unique("acct"), unique("acct")
    first, second, elsewhere = feed.contract(account), feed.contract(account), feed.contract(other)
    for contract in (first, second, elsewhere):
        await contract.publish(contract.created([a_seat()], start=YEAR_START, end=YEAR_END))
    await first.publish(ContractTerminated(
        contract_id=first.contract_id, account_id=account, effective_date=date(2026, 7, 1),
        end_date=date(2026, 6, 30), credit_unused=False,
    ))  # fmt: skip
    await wait_for_orders(order_service.client, 1, account_id=other)
    everything = await wait_for_orders(order_service.client, 3, account_id=account)
    client = order_service.client

    page = await client.get("/v1/orders", params={"account_id": account, "limit": 2},
                            headers=READER)  # fmt: skip
    rest = await client.get(
        "/v1/orders",
        params={"account_id": account, "limit": 2, "cursor": page.json()["next_cursor"]},
        headers=READER,
    )

    assert [o["contract_id"] for o in everything] == [
        first.contract_id, second.contract_id, first.contract_id,
    ]  # fmt: skip
    assert page.json()["data"] == everything[:2]
    assert rest.json() == {"data": everything[2:], "next_cursor": None}
    of_first = await orders_of(client, account_id=account, contract_id=first.contract_id)
    assert [o["kind"] for o in of_first] == ["new", "termination"]
    assert await orders_of(client, account_id=other, contract_id=first.contract_id) == []
