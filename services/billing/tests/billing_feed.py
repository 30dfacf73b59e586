"""Talking to the billing service as its neighbours do: order and ledger events in.

Helpers for the API tests (imported as a top-level module: conftest.py puts
this folder on sys.path). Events are built with the catalogue's payload
classes and published keyed by account, as the order and ledger relays would.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from billing.main import app_factory
from billing.settings import BillingSettings
from revline_events.catalogue import EventPayload, make_envelope
from revline_events.clock import FixedClock
from revline_events.envelope import Envelope
from revline_events.payloads.ledger import (
    ApplicationSource,
    InvoiceAmountApplied,
    InvoiceAmountUnapplied,
    InvoiceWrittenOff,
)
from revline_events.payloads.order import (
    OrderActivated,
    OrderBillingDateOverridden,
    OrderBillingHeld,
    OrderBillingReleased,
    OrderItem,
    OrderKind,
)
from revline_events.payloads.quote import BillingPeriod, BillingTiming, ChargeType
from revline_testkit.fixtures import ServiceUnderTest, fresh_database
from revline_testkit.live import LiveService, auth
from revline_testkit.topics import Record, header, topic_ends, unique
from revline_testkit.waiting import eventually

ORDER_EVENTS = "order.events"
LEDGER_EVENTS = "ledger.events"
BILLING_EVENTS = "billing.events"
OPS = auth("ops")
READER = auth("finance")
UPSTREAM_CLOCK = FixedClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
FROM_LEDGER = (InvoiceAmountApplied, InvoiceAmountUnapplied, InvoiceWrittenOff)
# The billing service under test; its clock reads 2026-01-10 09:30 UTC.
BILLING = ServiceUnderTest("billing", BillingSettings, app_factory)


def item(
    subscription_id: str,
    *,
    quantity: int,
    unit_price: int,
    start: date,
    end: date,
    quantity_delta: int | None = None,
    sku: str = "SEAT",
    name: str = "Seat",
    charge_type: ChargeType = "recurring",
    billing_period: BillingPeriod | None = "month",
) -> OrderItem:
    """An order item as order events carry it."""
    return OrderItem(
        subscription_id=subscription_id, sku=sku, name=name, charge_type=charge_type,
        billing_period=billing_period if charge_type == "recurring" else None,
        quantity_delta=quantity if quantity_delta is None else quantity_delta,
        quantity=quantity, unit_price=unit_price, start_date=start, end_date=end,
    )  # fmt: skip


class OrderFeed:
    """Publishes order.events and ledger.events as those services' relays do."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer
        self._versions: dict[str, int] = {}

    async def publish(self, topic: str, envelope: Envelope) -> None:
        """Send one envelope keyed by its account and wait until the broker has it."""
        await self._producer.send_and_wait(
            topic, value=envelope.to_bytes(), key=envelope.account_id.encode()
        )

    def _envelope(self, payload: EventPayload, stream_id: str, account_id: str) -> Envelope:
        version = self._versions.get(stream_id, 0) + 1
        self._versions[stream_id] = version
        return make_envelope(
            payload,
            stream_id=stream_id,
            stream_version=version,
            account_id=account_id,
            producer="ledger" if isinstance(payload, FROM_LEDGER) else "order",
            clock=UPSTREAM_CLOCK,
            correlation_id=str(uuid.uuid4()),
        )

    async def order(
        self,
        account_id: str,
        items: list[OrderItem],
        *,
        kind: OrderKind = "new",
        order_id: str | None = None,
        contract_id: str = "contract-1",
        effective_date: date | None = None,
        contract_end_date: date | None = None,
        bill_cycle_day: int = 1,
        billing_timing: BillingTiming = "advance",
        credit_unused: bool = False,
        currency: str = "USD",
    ) -> Envelope:
        """Publish an OrderActivated; returns its envelope (stream id = order id)."""
        order_id = order_id or unique("ord")
        event = OrderActivated(
            order_id=order_id, contract_id=contract_id, account_id=account_id, kind=kind,
            currency=currency, effective_date=effective_date or items[0].start_date,
            bill_cycle_day=bill_cycle_day, billing_timing=billing_timing,
            contract_end_date=contract_end_date or max(i.end_date for i in items),
            credit_unused=credit_unused, items=items,
        )  # fmt: skip
        envelope = self._envelope(event, order_id, account_id)
        await self.publish(ORDER_EVENTS, envelope)
        return envelope

    async def hold(self, account_id: str, order_id: str, reason: str = "PO missing") -> Envelope:
        """Publish OrderBillingHeld."""
        event = OrderBillingHeld(order_id=order_id, account_id=account_id, reason=reason)
        envelope = self._envelope(event, order_id, account_id)
        await self.publish(ORDER_EVENTS, envelope)
        return envelope

    async def release(self, account_id: str, order_id: str) -> Envelope:
        """Publish OrderBillingReleased."""
        event = OrderBillingReleased(order_id=order_id, account_id=account_id)
        envelope = self._envelope(event, order_id, account_id)
        await self.publish(ORDER_EVENTS, envelope)
        return envelope

    async def override(self, account_id: str, order_id: str, next_billing_date: date) -> Envelope:
        """Publish OrderBillingDateOverridden."""
        event = OrderBillingDateOverridden(
            order_id=order_id, account_id=account_id, next_billing_date=next_billing_date
        )
        envelope = self._envelope(event, order_id, account_id)
        await self.publish(ORDER_EVENTS, envelope)
        return envelope

    async def applied(
        self,
        account_id: str,
        invoice_id: str,
        amount: int,
        *,
        currency: str = "USD",
        source: ApplicationSource = "cash",
        applied_on: date = date(2026, 2, 1),
    ) -> Envelope:
        """Publish InvoiceAmountApplied, as the ledger does when money meets an invoice."""
        application_id = unique("app")
        event = InvoiceAmountApplied(
            application_id=application_id, invoice_id=invoice_id, account_id=account_id,
            currency=currency, amount=amount, source=source, source_id=unique("pay"),
            applied_on=applied_on,
        )  # fmt: skip
        envelope = self._envelope(event, application_id, account_id)
        await self.publish(LEDGER_EVENTS, envelope)
        return envelope

    async def unapplied(
        self,
        account_id: str,
        invoice_id: str,
        amount: int,
        *,
        currency: str = "USD",
        source: ApplicationSource = "cash",
        unapplied_on: date = date(2026, 3, 10),
    ) -> Envelope:
        """Publish InvoiceAmountUnapplied, as the ledger does when a payment is reversed."""
        unapplication_id = unique("ua")
        event = InvoiceAmountUnapplied(
            unapplication_id=unapplication_id, invoice_id=invoice_id, account_id=account_id,
            currency=currency, amount=amount, source=source, source_id=unique("pay"),
            unapplied_on=unapplied_on,
        )  # fmt: skip
        envelope = self._envelope(event, unapplication_id, account_id)
        await self.publish(LEDGER_EVENTS, envelope)
        return envelope

    async def written_off(
        self,
        account_id: str,
        invoice_id: str,
        amount: int,
        *,
        currency: str = "USD",
        written_off_on: date = date(2026, 6, 30),
    ) -> Envelope:
        """Publish InvoiceWrittenOff, as the ledger does when finance writes an invoice off."""
        event = InvoiceWrittenOff(
            invoice_id=invoice_id, account_id=account_id, currency=currency,
            written_off_on=written_off_on, amount=amount, reason="customer insolvent",
        )  # fmt: skip
        envelope = self._envelope(event, f"book:{currency}:{account_id}", account_id)
        await self.publish(LEDGER_EVENTS, envelope)
        return envelope


async def schedules(client: httpx.AsyncClient, account_id: str) -> list[dict[str, Any]]:
    """The account's billing schedules."""
    response = await client.get("/v1/billing-schedules", params={"account_id": account_id},
                                headers=READER)  # fmt: skip
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def wait_for_schedules(
    service: LiveService, account_id: str, count: int, *, within: float = 15.0
) -> list[dict[str, Any]]:
    """Wait until the account has `count` subscriptions scheduled; returns them."""

    async def probe() -> list[dict[str, Any]] | None:
        found = await schedules(service.client, account_id)
        return found if len(found) >= count else None

    return await eventually(probe, within=within)


async def bill_run(
    client: httpx.AsyncClient, as_of: date, account_id: str | None = None, **headers: str
) -> dict[str, Any]:
    """POST a bill run and return the run (201 expected)."""
    body: dict[str, Any] = {"as_of": as_of.isoformat()}
    if account_id is not None:
        body["account_id"] = account_id
    response = await client.post("/v1/bill-runs", json=body, headers={**OPS, **headers})
    assert response.status_code == 201, response.text
    run: dict[str, Any] = response.json()
    return run


async def invoices(client: httpx.AsyncClient, account_id: str) -> list[dict[str, Any]]:
    """The account's invoices in number order."""
    response = await client.get("/v1/invoices", params={"account_id": account_id, "limit": 500},
                                headers=READER)  # fmt: skip
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def credit_notes(client: httpx.AsyncClient, account_id: str) -> list[dict[str, Any]]:
    """The account's credit notes in number order."""
    response = await client.get("/v1/credit-notes",
                                params={"account_id": account_id, "limit": 500},
                                headers=READER)  # fmt: skip
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def lines(document: dict[str, Any]) -> list[tuple[str, int, str, str, int]]:
    """(kind, quantity, period_start, period_end, amount) of each line, in order."""
    return [
        (x["kind"], x["quantity"], x["period_start"], x["period_end"], x["amount"])
        for x in document["lines"]
    ]


# --- Delivery, dead letters and operations (api/test_delivery.py, test_api.py, test_rebuild.py)

ORDER_DLQ = "order.events.dlq"
LEDGER_DLQ = "ledger.events.dlq"
ADMIN = auth("admin")


def envelope_of(
    payload: EventPayload,
    *,
    stream_id: str,
    account_id: str,
    version: int = 1,
    producer: str = "order",
) -> Envelope:
    """An envelope not yet published: to send twice, or to break on purpose."""
    return make_envelope(
        payload, stream_id=stream_id, stream_version=version, account_id=account_id,
        producer=producer, clock=UPSTREAM_CLOCK, correlation_id=str(uuid.uuid4()),
    )  # fmt: skip


async def wait_for_schedule_state(
    service: LiveService,
    account_id: str,
    ready: Callable[[list[dict[str, Any]]], bool],
    *,
    what: str = "the schedules",
) -> list[dict[str, Any]]:
    """The account's schedules once `ready(schedules)` holds (fails after 15 s)."""

    async def probe() -> list[dict[str, Any]] | None:
        found = await schedules(service.client, account_id)
        return found if found and ready(found) else None

    return await eventually(probe, what=f"{what} of {account_id}")


def from_billing(record: Record) -> bool:
    """The record was dead-lettered by a billing consumer (others read the same topics)."""
    return header(record, "consumer") == "billing"


@contextmanager
def billing_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database for a billing service: a SQLite file when `request.param` is
    "sqlite", else a database on the session's PostgreSQL (dropped afterwards)."""
    with fresh_database(request, request.param, tmp_path, "billing") as url:
        yield url


@asynccontextmanager
async def serving_billing_from_now(
    database_url: str, bootstrap: str, tmp_path: Path, *, bill_run_batch_size: int = 200
) -> AsyncIterator[LiveService]:
    """A billing service (clock 2026-01-10 09:30 UTC) whose consumer group starts at the
    current end of order.events and ledger.events.

    The module's broker keeps every earlier test's events of the module; a group reading from the
    beginning first takes in all of them (hundreds of orders after a load test), which
    costs seconds and moves state that tests of the whole database (the state digest,
    the duplicate counter) compare. Committing the group's offsets at the ends first
    makes the service take in only what is published from now on.
    """
    group_id = f"billing-test-{uuid.uuid4().hex[:12]}"
    ends = await topic_ends(bootstrap, ORDER_EVENTS, LEDGER_EVENTS)
    if ends:
        group = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False
        )
        await group.start()
        try:
            group.assign(list(ends))
            await group.commit(ends)
        finally:
            await group.stop()
    async with BILLING.serving(
        database_url, bootstrap, tmp_path,
        consumer_group=group_id, bill_run_batch_size=bill_run_batch_size,
    ) as service:  # fmt: skip
        yield service


async def handled(service: LiveService, topic: str, outcome: str) -> float:
    """revline_events_handled_total of billing for `topic` and `outcome`, read from /metrics
    (the counter is per process: every billing service of the test session adds to it)."""
    response = await service.client.get("/metrics")
    assert response.status_code == 200, response.text
    prefix = "revline_events_handled_total{"
    events = 0.0  # a Prometheus counter prints as a float ("3.0")
    for line in response.text.splitlines():
        if not line.startswith(prefix):
            continue
        labels, _, value = line[len(prefix) :].rpartition("} ")
        found = dict(part.split("=", 1) for part in labels.split(","))
        wanted = {"service": '"billing"', "topic": f'"{topic}"', "outcome": f'"{outcome}"'}
        if all(found.get(k) == v for k, v in wanted.items()):
            events += float(value)
    return events
