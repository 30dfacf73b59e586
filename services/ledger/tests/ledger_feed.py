"""Talking to the ledger as its neighbours do: billing's events in, entries and reports out.

Billing events are built with the catalogue's payload classes and published to
billing.events keyed by account, as billing's outbox relay publishes them.
"""

from __future__ import annotations

import random
import string
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
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
from revline_testkit.live import LiveService, auth
from revline_testkit.topics import caught_up, unique
from revline_testkit.waiting import eventually

BILLING_EVENTS = "billing.events"
BILLING_DLQ = "billing.events.dlq"
LEDGER_EVENTS = "ledger.events"
FINANCE = auth("finance")
BILLING_CLOCK = FixedClock(datetime(2026, 3, 5, 8, 0, tzinfo=UTC))
D = date.fromisoformat


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
