"""Talking to the ledger as its neighbours do: billing's events in, entries and reports out.

Billing events are built with the catalogue's payload classes and published to
billing.events keyed by account, as billing's outbox relay publishes them.
"""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from revline_events.catalogue import EventPayload, make_envelope
from revline_events.clock import FixedClock
from revline_events.envelope import Envelope
from revline_events.payloads.billing import (
    BilledLine,
    CreditNoteIssued,
    InvoicePosted,
    InvoiceVoided,
    LineKind,
    LineSource,
)
from revline_testkit.broker import FAST_CONSUMER_SETTINGS
from revline_testkit.live import LiveService, auth
from revline_testkit.waiting import eventually

BILLING_EVENTS = "billing.events"
BILLING_DLQ = "billing.events.dlq"
LEDGER_EVENTS = "ledger.events"
FINANCE = auth("finance")
BILLING_CLOCK = FixedClock(datetime(2026, 3, 5, 8, 0, tzinfo=UTC))
D = date.fromisoformat


def unique(prefix: str) -> str:
    """A name (account, invoice) no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def billed(kind: LineKind, amount: int, first: str, last: str | None = None) -> BilledLine:
    """A billed line of `kind` over [first, last] (inclusive); renumbered by the document."""
    start, end = D(first), D(last or first)
    days = (end - start).days + 1
    return BilledLine(
        line_no=0, kind=kind, subscription_id="sub-1", contract_id="ct-1", sku="SEAT",
        description=f"{kind} {first}..{last or first}", period_start=start, period_end=end,
        quantity=1, unit_price=abs(amount), amount=amount,
        source=LineSource(
            order_id="ord-1", order_event_ids=[], span_start=start, nominal_start=start,
            nominal_end=end, days=days, nominal_days=days, formula=f"{amount}",
        ),
    )  # fmt: skip


def _numbered(lines: tuple[BilledLine, ...]) -> list[BilledLine]:
    return [line.model_copy(update={"line_no": n}) for n, line in enumerate(lines, 1)]


class BillingFeed:
    """Publishes to billing.events as billing's relay does (key: the account)."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer

    def envelope(self, payload: EventPayload, stream_id: str, account_id: str) -> Envelope:
        """An envelope as billing would stamp it (each document its own stream)."""
        return make_envelope(
            payload, stream_id=stream_id, stream_version=1, account_id=account_id,
            producer="billing", clock=BILLING_CLOCK, correlation_id=str(uuid.uuid4()),
        )  # fmt: skip

    async def send(self, envelope: Envelope) -> None:
        """Publish one envelope (again, for a redelivery)."""
        await self.producer.send_and_wait(
            BILLING_EVENTS, value=envelope.to_bytes(), key=envelope.account_id.encode()
        )

    def invoice(
        self, account_id: str, number: str, invoice_date: str, due_date: str,
        *lines: BilledLine, currency: str = "USD", invoice_id: str | None = None,
    ) -> Envelope:  # fmt: skip
        """InvoicePosted of the lines (not yet published); the id is unique to the test."""
        numbered = _numbered(lines)
        total = sum(line.amount for line in numbered)
        deferred = sum(line.amount for line in numbered if line.kind != "one_time")
        event = InvoicePosted(
            invoice_id=invoice_id or unique(number), number=number, bill_run_id="br-1",
            account_id=account_id, currency=currency, invoice_date=D(invoice_date),
            due_date=D(due_date), lines=numbered, subtotal=total, total=total,
            deferred_total=deferred, one_time_total=total - deferred, amount_paid=0,
            amount_due=total, status="posted",
        )  # fmt: skip
        return self.envelope(event, event.invoice_id, account_id)

    def credit_note(
        self, account_id: str, number: str, issue_date: str, *lines: BilledLine,
        currency: str = "USD",
    ) -> Envelope:  # fmt: skip
        """CreditNoteIssued of the (negative) lines."""
        numbered = _numbered(lines)
        deferred = sum(line.amount for line in numbered if line.kind != "one_time")
        one_time = sum(line.amount for line in numbered if line.kind == "one_time")
        event = CreditNoteIssued(
            credit_note_id=unique(number), number=number, bill_run_id="br-1",
            account_id=account_id, currency=currency, issue_date=D(issue_date),
            lines=numbered, total=-(deferred + one_time), deferred_total=deferred,
            one_time_total=one_time,
        )  # fmt: skip
        return self.envelope(event, event.credit_note_id, account_id)

    def void(self, posted: Envelope, voided_on: str) -> Envelope:
        """InvoiceVoided of a posted invoice."""
        invoice = InvoicePosted.model_validate(posted.payload)
        event = InvoiceVoided(
            invoice_id=invoice.invoice_id, number=invoice.number, account_id=invoice.account_id,
            currency=invoice.currency, voided_on=D(voided_on), total=invoice.total,
            deferred_total=invoice.deferred_total, one_time_total=invoice.one_time_total,
        )  # fmt: skip
        return self.envelope(event, invoice.invoice_id, invoice.account_id)


def f1_invoices(feed: BillingFeed, account_id: str, currency: str = "USD") -> list[Envelope]:
    """F1's three invoices (BILLING_RULES.md), as billing posts them."""
    return [
        feed.invoice(account_id, "INV-000001", "2026-01-15", "2026-02-14",
                     billed("one_time", 25000, "2026-01-15"),
                     billed("recurring", 24677, "2026-01-15", "2026-01-31"), currency=currency),
        feed.invoice(account_id, "INV-000002", "2026-02-01", "2026-03-03",
                     billed("recurring", 45000, "2026-02-01", "2026-02-28"), currency=currency),
        feed.invoice(account_id, "INV-000003", "2026-03-01", "2026-03-31",
                     billed("proration", 4179, "2026-02-16", "2026-02-28"),
                     billed("recurring", 54000, "2026-03-01", "2026-03-31"), currency=currency),
    ]  # fmt: skip


# -- reading the ledger ------------------------------------------------------------------------


def written(entry: dict[str, Any]) -> tuple[str, str]:
    """(date, "Dr 1100 49677; Cr 2100 24677; Cr 4100 25000"), as BILLING_RULES.md writes it."""
    debits = [f"Dr {x['ledger_account']} {x['debit']}" for x in entry["lines"] if x["debit"]]
    credits = [f"Cr {x['ledger_account']} {x['credit']}" for x in entry["lines"] if x["credit"]]
    return entry["entry_date"], "; ".join(debits + credits)


async def journal_entries(client: httpx.AsyncClient, **filters: str) -> list[dict[str, Any]]:
    """Every journal entry matching the filters, in posting order (all pages)."""
    found: list[dict[str, Any]] = []
    params: dict[str, str | int] = {**filters, "limit": 2}  # small pages: the cursor is used
    while True:
        response = await client.get("/v1/journal-entries", params=params, headers=FINANCE)
        assert response.status_code == 200, response.text
        found += response.json()["data"]
        if response.json()["next_cursor"] is None:
            return found
        params["cursor"] = response.json()["next_cursor"]


async def wait_for_entries(
    client: httpx.AsyncClient, account_id: str, count: int
) -> list[dict[str, Any]]:
    """The account's entries once there are at least `count` (fails after 15 s)."""

    async def enough() -> list[dict[str, Any]] | None:
        entries = await journal_entries(client, account_id=account_id)
        return entries if len(entries) >= count else None

    return await eventually(enough, what=f"{count} entries of {account_id}")


Record = ConsumerRecord[bytes, bytes]


class RawTopicReader:
    """Reads a topic's raw records from the beginning, without a group (the DLQ)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.records: list[Record] = []
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
            auto_offset_reset="earliest", **FAST_CONSUMER_SETTINGS,
        )  # fmt: skip

    async def __aenter__(self) -> RawTopicReader:
        await self._consumer.start()
        partitions: set[int] = set()

        async def topic_exists() -> bool:
            # All-topics metadata: naming a missing topic would make Tansu create it.
            await self._consumer.topics()
            partitions.update(self._consumer.partitions_for_topic(self.topic) or ())
            return bool(partitions)

        await eventually(topic_exists, what=f"topic {self.topic}")
        self._consumer.assign([TopicPartition(self.topic, p) for p in sorted(partitions)])
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._consumer.stop()

    async def ends(self) -> dict[int, int]:
        """Each partition's end offset, read as the fetch high watermark (DESIGN.md: the
        dev broker's ListOffsets "latest" is not to be trusted)."""

        async def at_end() -> bool:
            batches = await self._consumer.getmany(timeout_ms=20)
            for records in batches.values():
                self.records.extend(records)
            for tp in self._consumer.assignment():
                high = self._consumer.highwater(tp)
                if high is None or await self._consumer.position(tp) < high:
                    return False
            return True

        await eventually(at_end, what=f"the end of {self.topic}")
        assigned = self._consumer.assignment()
        return {tp.partition: await self._consumer.position(tp) for tp in assigned}

    async def first(self, match: Callable[[Record], bool]) -> Record:
        """The first record `match` accepts, reading on until it arrives (15 s at most)."""

        async def probe() -> Record | None:
            batches = await self._consumer.getmany(timeout_ms=20)
            for records in batches.values():
                self.records.extend(records)
            return next((r for r in self.records if match(r)), None)

        return await eventually(probe, what=f"a matching record on {self.topic}")


def header(record: Record, name: str) -> str:
    """One header of a record, decoded."""
    values = [bytes(v).decode() for k, v in record.headers if k == name]
    assert len(values) == 1, f"{name} appears {len(values)} times in {record.headers}"
    return values[0]


async def caught_up(service: LiveService) -> None:
    """Wait until the ledger's consumer group has committed everything now on
    billing.events: every event published so far is handled and in its database."""
    bootstrap = service.runtime.settings.kafka_bootstrap
    consumer = service.runtime.consumer
    assert consumer is not None
    async with RawTopicReader(bootstrap, BILLING_EVENTS) as topic:
        ends = await topic.ends()
    # Assigned, not subscribed: it reads the group's committed offsets without joining
    # the group (which would take partitions from the service).
    group = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=consumer.group_id, enable_auto_commit=False
    )
    await group.start()
    try:
        partitions = [TopicPartition(BILLING_EVENTS, p) for p in ends]
        group.assign(partitions)

        async def committed_to_the_end() -> bool:
            for tp in partitions:
                if ends[tp.partition] and (await group.committed(tp) or 0) < ends[tp.partition]:
                    return False
            return True

        await eventually(committed_to_the_end, what="the ledger caught up")
    finally:
        await group.stop()


async def unused_currency(service: LiveService) -> str:
    """A currency code the ledger holds no entry in, once it has caught up with
    billing.events: every ledger of the test session reads every test's events, so a
    report over all accounts is checked in a currency of its own."""
    await caught_up(service)
    response = await service.client.get(
        "/v1/reports/trial-balance", params={"as_of": "9999-12-31"}, headers=FINANCE
    )
    assert response.status_code == 200, response.text
    taken = {c["currency"] for c in response.json()["currencies"]}
    while (code := "X" + "".join(random.choices(string.ascii_uppercase, k=2))) in taken:
        pass
    return code
