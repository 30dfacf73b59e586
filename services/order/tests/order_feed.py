"""Talking to the order service as its neighbours do: contract events in, orders out.

Helpers for the API tests (imported as a top-level module: tests/conftest.py
puts this folder on sys.path). Contract events are built with the catalogue's
payload classes and published to contract.events keyed by account, exactly as
the contract service's outbox relay would publish them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from revline_events.catalogue import EventPayload, make_envelope
from revline_events.clock import FixedClock
from revline_events.envelope import Envelope
from revline_events.payloads.contract import ContractCreated, SubscriptionData
from revline_events.payloads.quote import BillingPeriod, ChargeType
from revline_testkit.live import auth
from revline_testkit.topics import unique
from revline_testkit.waiting import eventually

CONTRACT_EVENTS = "contract.events"
CONTRACT_DLQ = "contract.events.dlq"
ORDER_EVENTS = "order.events"
READER = auth("finance")
CONTRACT_CLOCK = FixedClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))


def subscription(
    subscription_id: str,
    *,
    quantity: int,
    unit_price: int,
    start: date,
    end: date,
    sku: str = "SEAT",
    name: str = "Seat",
    charge_type: ChargeType = "recurring",
    billing_period: BillingPeriod | None = "month",
) -> SubscriptionData:
    """A subscription as contract events carry it."""
    return SubscriptionData(
        subscription_id=subscription_id, sku=sku, name=name, charge_type=charge_type,
        billing_period=billing_period, quantity=quantity, unit_price=unit_price,
        start_date=start, end_date=end,
    )  # fmt: skip


class ContractFeed:
    """Publishes to contract.events as the contract service's relay does (key: the account)."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer

    async def send(self, envelope: Envelope) -> None:
        """Publish one envelope (again, for a redelivery)."""
        await self.send_raw(envelope.account_id.encode(), envelope.to_bytes())

    async def send_raw(self, key: bytes | None, value: bytes) -> None:
        """Publish raw bytes: what a broken producer might send."""
        await self.producer.send_and_wait(CONTRACT_EVENTS, value=value, key=key)

    def contract(self, account_id: str, contract_id: str | None = None) -> ContractStream:
        """The event stream of one contract of `account_id`."""
        return ContractStream(self, account_id, contract_id or unique("ct"))


class ContractStream:
    """One contract's events, numbered 1, 2, ... as its event store numbers them."""

    def __init__(self, feed: ContractFeed, account_id: str, contract_id: str) -> None:
        self.feed = feed
        self.account_id = account_id
        self.contract_id = contract_id
        self.version = 0

    def envelope(self, payload: EventPayload, effective_date: date | None = None) -> Envelope:
        """The next event of the stream, not yet published."""
        self.version += 1
        return make_envelope(
            payload, stream_id=self.contract_id, stream_version=self.version,
            account_id=self.account_id, producer="contract", clock=CONTRACT_CLOCK,
            effective_date=effective_date,
        )  # fmt: skip

    async def publish(self, payload: EventPayload, effective_date: date | None = None) -> Envelope:
        """Publish the next event of the stream; returns its envelope."""
        envelope = self.envelope(payload, effective_date)
        await self.feed.send(envelope)
        return envelope

    def created(
        self,
        subscriptions: list[SubscriptionData],
        *,
        start: date,
        end: date,
        term_months: int = 12,
        bill_cycle_day: int = 1,
        billing_timing: str = "advance",
        currency: str = "USD",
    ) -> ContractCreated:
        """ContractCreated of this contract."""
        return ContractCreated.model_validate({
            "contract_id": self.contract_id, "account_id": self.account_id,
            "quote_id": unique("qt"), "currency": currency, "start_date": start,
            "end_date": end, "term_months": term_months, "bill_cycle_day": bill_cycle_day,
            "billing_timing": billing_timing, "auto_renew": False,
            "subscriptions": subscriptions,
        })  # fmt: skip


async def orders_of(client: httpx.AsyncClient, **filters: str) -> list[dict[str, Any]]:
    """Every order matching the filters (contract_id, account_id), oldest first."""
    found: list[dict[str, Any]] = []
    params: dict[str, str | int] = {**filters, "limit": 500}
    while True:
        response = await client.get("/v1/orders", params=params, headers=READER)
        assert response.status_code == 200, response.text
        found += response.json()["data"]
        if response.json()["next_cursor"] is None:
            return found
        params["cursor"] = response.json()["next_cursor"]


async def wait_for_orders(
    client: httpx.AsyncClient, count: int, **filters: str
) -> list[dict[str, Any]]:
    """The orders matching the filters once there are `count` of them (fails after 15 s)."""

    async def enough() -> list[dict[str, Any]] | None:
        orders = await orders_of(client, **filters)
        return orders if len(orders) >= count else None

    return await eventually(enough, what=f"{count} orders of {filters}")
