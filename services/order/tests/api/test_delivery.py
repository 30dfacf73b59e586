"""At-least-once delivery, exactly one effect: redeliveries are no-ops, poison goes to the DLQ."""

from __future__ import annotations

from datetime import date

import pytest
from order.domain.errors import ContractAlreadyCreated
from order_feed import (
    CONTRACT_DLQ,
    CONTRACT_EVENTS,
    ContractFeed,
    orders_of,
    subscription,
    wait_for_orders,
)
from revline_events.catalogue import CATALOGUE
from revline_events.payloads.contract import ContractAmended, ContractTerminated
from revline_testkit.live import LiveService
from revline_testkit.topics import RawTopicReader, Record, header, unique

START, END = date(2026, 1, 1), date(2026, 12, 31)


def _from_order(record: Record) -> bool:
    return header(record, "consumer") == "order"


async def test_the_same_contract_event_delivered_twice_makes_one_order(
    order_service: LiveService, feed: ContractFeed
) -> None:
    account = unique("acct")
    contract = feed.contract(account)
    sub = subscription(unique("sub"), quantity=3, unit_price=700, start=START, end=END)
    created = contract.envelope(contract.created([sub], start=START, end=END))
    await feed.send(created)
    await feed.send(created)
    # Same key, same partition: once the termination is ordered, both copies were handled.
    await contract.publish(ContractTerminated(
        contract_id=contract.contract_id, account_id=account, effective_date=date(2026, 4, 1),
        end_date=date(2026, 3, 31), credit_unused=False,
    ))  # fmt: skip

    await wait_for_orders(order_service.client, 2, contract_id=contract.contract_id)

    orders = await orders_of(order_service.client, contract_id=contract.contract_id)
    assert [o["kind"] for o in orders] == ["new", "termination"]
    assert [i["quantity_delta"] for i in orders[1]["items"]] == [-3]


async def test_a_redelivered_amendment_is_ordered_once(
    order_service: LiveService, feed: ContractFeed
) -> None:
    account = unique("acct")
    contract = feed.contract(account)
    sub = subscription(unique("sub"), quantity=3, unit_price=700, start=START, end=END)
    await contract.publish(contract.created([sub], start=START, end=END))
    upgrade = contract.envelope(ContractAmended(
        contract_id=contract.contract_id, account_id=account, quote_id=unique("qt"),
        effective_date=date(2026, 3, 1),
        changes=[{"subscription": {**sub.model_dump(), "quantity": 5},
                  "quantity_before": 3, "quantity_after": 5}],
    ))  # fmt: skip
    for _ in range(3):
        await feed.send(upgrade)
    await contract.publish(ContractTerminated(
        contract_id=contract.contract_id, account_id=account, effective_date=date(2026, 6, 1),
        end_date=date(2026, 5, 31), credit_unused=True,
    ))  # fmt: skip

    await wait_for_orders(order_service.client, 3, contract_id=contract.contract_id)

    orders = await orders_of(order_service.client, contract_id=contract.contract_id)
    assert [o["kind"] for o in orders] == ["new", "amendment", "termination"]
    assert [i["quantity_delta"] for i in orders[2]["items"]] == [-5]


async def test_an_unreadable_record_goes_to_the_dlq_and_the_service_keeps_serving(
    order_service: LiveService, feed: ContractFeed
) -> None:
    account = unique("acct")
    poison = f"not an envelope {unique('poison')}".encode()
    await feed.send_raw(account.encode(), poison)
    contract = feed.contract(account)
    sub = subscription(unique("sub"), quantity=1, unit_price=100, start=START, end=END)
    await contract.publish(contract.created([sub], start=START, end=END))

    async with RawTopicReader(order_service.runtime.settings.kafka_bootstrap, CONTRACT_DLQ) as dlq:
        parked = await dlq.first(lambda r: r.value == poison and _from_order(r))

    assert parked.key == account.encode()
    assert header(parked, "source_topic") == CONTRACT_EVENTS
    assert header(parked, "error").startswith("unparseable envelope")
    await wait_for_orders(order_service.client, 1, contract_id=contract.contract_id)
    assert (await order_service.client.get("/readyz")).status_code == 200


async def test_an_invalid_payload_goes_to_the_dlq_with_the_reason(
    order_service: LiveService, feed: ContractFeed
) -> None:
    account = unique("acct")
    contract = feed.contract(account)
    sub = subscription(unique("sub"), quantity=1, unit_price=100, start=START, end=END)
    valid = contract.envelope(contract.created([sub], start=START, end=END))
    broken = valid.model_copy(update={"payload": {**valid.payload, "currency": None}})
    await feed.send(broken)

    async with RawTopicReader(order_service.runtime.settings.kafka_bootstrap, CONTRACT_DLQ) as dlq:
        parked = await dlq.first(lambda r: r.value == broken.to_bytes() and _from_order(r))

    assert "payload of ContractCreated v1 is invalid" in header(parked, "error")
    assert "currency" in header(parked, "error")
    assert await orders_of(order_service.client, contract_id=contract.contract_id) == []


async def test_a_change_to_an_unknown_contract_goes_to_the_dlq_and_changes_nothing(
    order_service: LiveService, feed: ContractFeed
) -> None:
    account = unique("acct")
    stranger = feed.contract(account)
    stranger.version = 1  # as if its ContractCreated had been lost
    orphan = stranger.envelope(ContractTerminated(
        contract_id=stranger.contract_id, account_id=account, effective_date=date(2026, 5, 1),
        end_date=date(2026, 4, 30), credit_unused=False,
    ))  # fmt: skip
    await feed.send(orphan)
    known = feed.contract(account)
    sub = subscription(unique("sub"), quantity=1, unit_price=100, start=START, end=END)
    await known.publish(known.created([sub], start=START, end=END))

    async with RawTopicReader(order_service.runtime.settings.kafka_bootstrap, CONTRACT_DLQ) as dlq:
        parked = await dlq.first(lambda r: r.value == orphan.to_bytes() and _from_order(r))

    assert header(parked, "error") == (
        f"UnknownContract: ContractTerminated for contract {stranger.contract_id}, "
        "which was never created"
    )
    await wait_for_orders(order_service.client, 1, contract_id=known.contract_id)
    assert await orders_of(order_service.client, contract_id=stranger.contract_id) == []


async def test_a_second_creation_of_a_known_contract_is_refused_and_changes_nothing(
    order_service: LiveService, feed: ContractFeed
) -> None:
    # Straight to the handler, in a unit of work on the service's database, not over the
    # broker: on the session's shared contract.events this upstream bug would also reach
    # the quote service's consumer, which retries an IntegrityError forever.
    account = unique("acct")
    contract = feed.contract(account)
    sub = subscription(unique("sub"), quantity=1, unit_price=100, start=START, end=END)
    await contract.publish(contract.created([sub], start=START, end=END))
    await wait_for_orders(order_service.client, 1, contract_id=contract.contract_id)
    again = contract.envelope(contract.created([sub], start=START, end=END))
    runtime = order_service.runtime
    handler = runtime.spec.reactions.batch_handlers(CATALOGUE)["ContractCreated"]

    async with runtime.uow() as uow:
        with pytest.raises(ContractAlreadyCreated, match=contract.contract_id):
            await handler(uow, [(again, CATALOGUE.parse(again))])

    orders = await orders_of(order_service.client, contract_id=contract.contract_id)
    assert [o["kind"] for o in orders] == ["new"]
