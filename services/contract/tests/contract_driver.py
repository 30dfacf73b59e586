"""Drives a contract service under test the way production does: QuoteAccepted on
quote.events (published with aiokafka), the contract read back over HTTP.

Imported as a top-level module: the conftest beside it puts this folder on sys.path
(pytest runs with --import-mode=importlib).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from revline_events.catalogue import make_envelope
from revline_events.clock import FixedClock
from revline_events.envelope import Envelope
from revline_events.payloads.quote import QuoteAccepted, QuoteLineData, QuoteTotalsData
from revline_pricing.calendar import term_end
from revline_testkit.live import LiveService, auth, stored_events
from revline_testkit.waiting import eventually

QUOTE_EVENTS = "quote.events"
READER = auth("finance")


def unique_account(prefix: str = "acct") -> str:
    """An account id no other test uses (the broker is shared by the whole session)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def line(
    sku: str,
    quantity: int,
    net_unit_price: int,
    *,
    billing_period: str | None = "month",
    one_time: bool = False,
    subscription_id: str | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """A priced quote line, as QuoteAccepted carries it (list price = net unless told)."""
    return {
        "sku": sku, "name": name or sku.title(),
        "charge_type": "one_time" if one_time else "recurring",
        "billing_period": None if one_time else billing_period,
        "quantity": quantity, "list_price": net_unit_price, "discount_percent": "0",
        "net_unit_price": net_unit_price, "amount_per_period": net_unit_price * quantity,
        "subscription_id": subscription_id,
    }  # fmt: skip


def accepted_quote(
    account_id: str,
    lines: list[dict[str, Any]],
    *,
    start_date: date,
    kind: str = "new",
    contract_id: str | None = None,
    term_months: int | None = 12,
    bill_cycle_day: int | None = None,
    billing_timing: str = "advance",
    auto_renew: bool = False,
    currency: str = "USD",
    quote_id: str | None = None,
) -> QuoteAccepted:
    """A QuoteAccepted as the quote service publishes it (amendments have no term)."""
    if kind == "amendment":
        term_months = None
    return QuoteAccepted(
        quote_id=quote_id or f"qt_{uuid.uuid4().hex[:20]}",
        account_id=account_id,
        currency=currency,
        kind=kind,  # type: ignore[arg-type]
        contract_id=contract_id,
        version=1,
        start_date=start_date,
        term_months=term_months,
        end_date=term_end(start_date, term_months) if term_months else None,
        bill_cycle_day=bill_cycle_day or start_date.day,
        billing_timing=billing_timing,  # type: ignore[arg-type]
        auto_renew=auto_renew,
        lines=[QuoteLineData(line_no=n, **x) for n, x in enumerate(lines, start=1)],
        totals=QuoteTotalsData(recurring_per_period=0, one_time=0, total_contract_value=0),
        accepted_on=start_date,
    )


@dataclass
class ContractDriver:
    """A live contract service, a producer on quote.events, and the test's clock."""

    service: LiveService
    producer: AIOKafkaProducer
    clock: FixedClock
    published: list[Envelope] = field(default_factory=list)

    @property
    def client(self) -> Any:
        """The HTTP client bound to the service."""
        return self.service.client

    @property
    def bootstrap(self) -> str:
        """The broker the service uses."""
        return self.service.runtime.settings.kafka_bootstrap

    def envelope(self, quote: QuoteAccepted) -> Envelope:
        """The envelope the quote service would wrap the event in."""
        return make_envelope(
            quote, stream_id=quote.quote_id, stream_version=2, account_id=quote.account_id,
            producer="quote", clock=self.clock, effective_date=quote.start_date,
        )  # fmt: skip

    async def publish(self, quote: QuoteAccepted) -> Envelope:
        """Publish QuoteAccepted on quote.events, keyed by account like the quote service."""
        envelope = self.envelope(quote)
        await self.send(envelope.to_bytes(), quote.account_id)
        self.published.append(envelope)
        return envelope

    async def send(self, value: bytes, key: str) -> None:
        """Publish raw bytes on quote.events."""
        await self.producer.send_and_wait(QUOTE_EVENTS, value=value, key=key.encode())

    async def contract_for(self, quote_id: str, *, within: float = 15.0) -> dict[str, Any]:
        """The contract a quote created, amended or renewed, once the service has applied it."""

        async def probe() -> dict[str, Any] | None:
            found = await self.client.get(
                "/v1/contracts", params={"quote_id": quote_id}, headers=READER
            )
            assert found.status_code == 200, found.text
            data: list[dict[str, Any]] = found.json()["data"]
            return data[0] if data else None

        return await eventually(probe, within=within, what=f"a contract for {quote_id}")

    async def accept(self, quote: QuoteAccepted) -> dict[str, Any]:
        """Publish the quote and wait until its contract shows it."""
        await self.publish(quote)
        return await self.contract_for(quote.quote_id)

    async def get(self, contract_id: str) -> dict[str, Any]:
        """GET /v1/contracts/{id}, which must answer 200."""
        response = await self.client.get(f"/v1/contracts/{contract_id}", headers=READER)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def events(self, contract_id: str) -> list[Envelope]:
        """The contract's stream in the service's own event store."""
        return await stored_events(self.service, contract_id)


async def read_topic(
    bootstrap: str,
    topic: str,
    until: Callable[[list[Any]], bool],
    *,
    within: float = 15.0,
) -> list[Any]:
    """Raw records of `topic` from its beginning (no group), until `until(records)` holds."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", fetch_max_wait_ms=10,
    )  # fmt: skip
    records: list[Any] = []
    await consumer.start()
    try:

        async def probe() -> bool:
            for batch in (await consumer.getmany(timeout_ms=50)).values():
                records.extend(batch)
            return until(records)

        await eventually(probe, within=within, interval=0, what=f"the records on {topic}")
    finally:
        await consumer.stop()
    return records


async def dead_letter(bootstrap: str, needle: bytes, *, within: float = 15.0) -> dict[str, str]:
    """The headers of the record on quote.events.dlq whose value contains `needle`."""

    def found(records: list[Any]) -> bool:
        return any(needle in record.value for record in records)

    records = await read_topic(bootstrap, "quote.events.dlq", found, within=within)
    record = next(r for r in records if needle in r.value)
    return {key: value.decode() for key, value in record.headers}


async def published_events(
    bootstrap: str, streams: set[str], until: Callable[[list[Envelope]], bool]
) -> list[Envelope]:
    """The events of `streams` on contract.events, read from the start until `until` holds."""

    def mine(records: list[Any]) -> list[Envelope]:
        # The topic is shared with other tests on the same broker: order's poison test
        # puts bytes on it that are no envelope. They are not this stream's events.
        envelopes = []
        for record in records:
            try:
                envelopes.append(Envelope.from_bytes(record.value))
            except ValueError:  # pydantic's ValidationError is a ValueError
                continue
        return [e for e in envelopes if e.stream_id in streams]

    records = await read_topic(bootstrap, "contract.events", lambda rs: until(mine(rs)))
    return mine(records)


async def every_kind_of_change(driver: ContractDriver) -> tuple[list[str], str]:
    """Contracts created, amended, renewed (by quote, request and run), terminated, expired."""
    account = unique_account()
    seats = [line("SEAT", 10, 5000), line("SETUP", 1, 25000, one_time=True)]
    first = await driver.accept(accepted_quote(account, seats, start_date=date(2026, 1, 1),
                                               bill_cycle_day=1, auto_renew=True))  # fmt: skip
    second = await driver.accept(accepted_quote(account, seats, start_date=date(2025, 1, 1)))
    seat = first["subscriptions"][0]
    amend = accepted_quote(
        account, [line("SEAT", 15, 1, subscription_id=seat["id"]), line("ADD", 2, 9000)],
        kind="amendment", contract_id=first["id"], start_date=date(2026, 3, 11),
    )  # fmt: skip
    await driver.accept(amend)
    await driver.accept(accepted_quote(
        account, seats, kind="renewal", contract_id=first["id"], start_date=date(2027, 1, 1),
        term_months=6,
    ))  # fmt: skip
    renewed = await driver.client.post(f"/v1/contracts/{first['id']}/renew", headers=auth("sales"))
    assert renewed.status_code == 200, renewed.text
    run = await driver.client.post(
        "/v1/renewal-runs", json={"as_of": "2027-12-31"}, headers=auth("ops")
    )
    assert run.status_code == 201, run.text
    ended = await driver.client.post(
        f"/v1/contracts/{first['id']}/terminate",
        json={"effective_date": "2028-02-01", "credit_unused": True}, headers=auth("sales"),
    )  # fmt: skip
    assert ended.status_code == 200, ended.text
    return [first["id"], second["id"]], run.json()["id"]
