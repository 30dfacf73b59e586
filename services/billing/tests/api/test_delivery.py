"""At-least-once delivery, exactly one effect: redeliveries are no-ops, poison goes to the DLQ.

Also the order controls end to end over the broker (W16 hold, W17 override) and what
billing announces on billing.events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from billing_feed import (
    BILLING_EVENTS,
    LEDGER_DLQ,
    LEDGER_EVENTS,
    OPS,
    ORDER_DLQ,
    ORDER_EVENTS,
    READER,
    OrderFeed,
    bill_run,
    billing_database,
    credit_notes,
    envelope_of,
    from_billing,
    handled,
    invoices,
    item,
    lines,
    serving_billing_from_now,
    wait_for_schedule_state,
    wait_for_schedules,
)
from revline_events.envelope import Envelope
from revline_events.payloads.order import OrderActivated, OrderItem
from revline_testkit.broker import TansuBroker
from revline_testkit.live import LiveService, TopicReader, stored_events
from revline_testkit.topics import RawTopicReader, caught_up, header, unique
from revline_testkit.waiting import eventually
from sqlalchemy import func, select

YEAR_START, YEAR_END = date(2026, 1, 1), date(2026, 12, 31)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def billing_from_now(
    request: pytest.FixtureRequest, tansu: TansuBroker, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveService]:
    """A billing service per module on SQLite, then on PostgreSQL, that takes in only the
    events published after it started (see serving_billing_from_now)."""
    tmp_path = tmp_path_factory.mktemp("billing")
    with billing_database(request, tmp_path) as url:
        async with serving_billing_from_now(url, tansu.bootstrap, tmp_path) as service:
            yield service


def _seats(sub: str, quantity: int = 5, unit_price: int = 2000) -> OrderItem:
    return item(sub, quantity=quantity, unit_price=unit_price, start=YEAR_START, end=YEAR_END)


async def _invoice(service: LiveService, invoice_id: str) -> dict[str, Any]:
    response = await service.client.get(f"/v1/invoices/{invoice_id}", headers=READER)
    assert response.status_code == 200, response.text
    shown: dict[str, Any] = response.json()
    return shown


async def _inbox_rows(service: LiveService, event_id: str) -> int:
    inbox = service.runtime.spec.kernel.inbox
    async with service.runtime.db.session() as session:
        stmt = select(func.count()).select_from(inbox).where(inbox.c.event_id == event_id)
        return int((await session.execute(stmt)).scalar_one())


async def _billed_invoice(
    service: LiveService, feed: OrderFeed, total: int
) -> tuple[str, dict[str, Any]]:
    """A new account with one posted invoice of `total` (January, one unit)."""
    account = unique("acct")
    await feed.order(account, [_seats(unique("sub"), quantity=1, unit_price=total)])
    await wait_for_schedules(service, account, 1)
    run = await bill_run(service.client, YEAR_START, account)
    (invoice_id,) = run["invoice_ids"]
    return account, await _invoice(service, invoice_id)


async def test_a_redelivered_order_activated_schedules_once_and_counts_a_duplicate(
    billing_from_now: LiveService, feed: OrderFeed
) -> None:
    await caught_up(billing_from_now, ORDER_EVENTS)
    duplicates = await handled(billing_from_now, ORDER_EVENTS, "duplicate")
    dead = await handled(billing_from_now, ORDER_EVENTS, "dead_lettered")
    account, sub = unique("acct"), unique("sub")
    activated = await feed.order(account, [_seats(sub)])
    await feed.publish(ORDER_EVENTS, activated)
    # Same key, same partition: once the next order is scheduled, both copies were handled.
    await feed.order(account, [_seats(unique("sub"))])

    found = await wait_for_schedules(billing_from_now, account, 2)

    (scheduled,) = [s for s in found if s["subscription_id"] == sub]
    assert [(q["effective_date"], q["quantity"]) for q in scheduled["quantities"]] == [
        ("2026-01-01", 5)
    ]
    stream = await stored_events(billing_from_now, activated.stream_id)
    assert [e.type for e in stream] == ["OrderScheduled"]
    assert stream[0].causation_id == activated.event_id
    assert await _inbox_rows(billing_from_now, activated.event_id) == 1
    await caught_up(billing_from_now, ORDER_EVENTS)
    assert await handled(billing_from_now, ORDER_EVENTS, "duplicate") == duplicates + 1
    assert await handled(billing_from_now, ORDER_EVENTS, "dead_lettered") == dead
    run = await bill_run(billing_from_now.client, YEAR_START, account)
    (invoice,) = await invoices(billing_from_now.client, account)
    assert run["invoice_ids"] == [invoice["id"]]
    assert [x["subscription_id"] for x in invoice["lines"]].count(sub) == 1


async def test_an_order_activated_with_invalid_items_goes_to_the_dlq_and_the_next_applies(
    billing_from_now: LiveService, feed: OrderFeed
) -> None:
    account, order_id, sub = unique("acct"), unique("ord"), unique("sub")
    valid = envelope_of(
        OrderActivated(
            order_id=order_id, contract_id="contract-1", account_id=account, kind="new",
            currency="USD", effective_date=YEAR_START, bill_cycle_day=1,
            billing_timing="advance", contract_end_date=YEAR_END, items=[_seats(sub)],
        ),
        stream_id=order_id,
        account_id=account,
    )  # fmt: skip
    broken = valid.model_copy(
        update={"payload": {**valid.payload, "items": [{"subscription_id": sub}]}}
    )
    await feed.publish(ORDER_EVENTS, broken)
    good = unique("sub")
    await feed.order(account, [_seats(good)])

    async with RawTopicReader(billing_from_now.runtime.settings.kafka_bootstrap, ORDER_DLQ) as dlq:
        parked = await dlq.first(lambda r: r.value == broken.to_bytes() and from_billing(r))

    assert parked.key == account.encode()
    assert header(parked, "source_topic") == ORDER_EVENTS
    error = header(parked, "error")
    assert error.startswith("payload of OrderActivated v1 is invalid")
    assert "items.0.sku" in error and "items.0.unit_price" in error
    (scheduled,) = await wait_for_schedules(billing_from_now, account, 1)
    assert scheduled["subscription_id"] == good
    assert await stored_events(billing_from_now, order_id) == []
    assert (await billing_from_now.client.get("/readyz")).status_code == 200


async def test_a_hold_of_an_order_never_scheduled_goes_to_the_dlq(
    billing_from_now: LiveService, feed: OrderFeed
) -> None:
    account, stranger = unique("acct"), unique("ord")
    orphan = await feed.hold(account, stranger, reason="lost order")
    sub = unique("sub")
    await feed.order(account, [_seats(sub)])

    async with RawTopicReader(billing_from_now.runtime.settings.kafka_bootstrap, ORDER_DLQ) as dlq:
        parked = await dlq.first(lambda r: r.value == orphan.to_bytes() and from_billing(r))

    assert header(parked, "error") == (
        f"OrderDoesNotFit: order {stranger}, subscription -: "
        "OrderBillingHeld for an order never scheduled"
    )
    (scheduled,) = await wait_for_schedules(billing_from_now, account, 1)
    assert (scheduled["subscription_id"], scheduled["next_bill_date"]) == (sub, "2026-01-01")
    assert await stored_events(billing_from_now, stranger) == []


async def test_an_application_of_more_than_is_due_goes_to_the_dlq_and_changes_nothing(
    billing_from_now: LiveService, feed: OrderFeed
) -> None:
    account, invoice = await _billed_invoice(billing_from_now, feed, 10000)
    assert (invoice["total"], invoice["status"]) == (10000, "posted")

    too_much = await feed.applied(account, invoice["id"], 10001)
    part = await feed.applied(account, invoice["id"], 4000)

    async with RawTopicReader(billing_from_now.runtime.settings.kafka_bootstrap, LEDGER_DLQ) as dlq:
        parked = await dlq.first(lambda r: r.value == too_much.to_bytes() and from_billing(r))
    assert header(parked, "source_topic") == LEDGER_EVENTS
    assert header(parked, "error") == (
        f"SettlementDoesNotFit: invoice {invoice['id']}: 10001 applied with 10000 due"
    )

    async def settled() -> dict[str, Any] | None:
        shown = await _invoice(billing_from_now, invoice["id"])
        return shown if shown["settlements"] else None

    shown = await eventually(settled, what="the second application")
    assert (shown["status"], shown["amount_paid"], shown["amount_due"]) == (
        "partially_paid", 4000, 6000,
    )  # fmt: skip
    assert [(s["amount"], s["source_event_id"]) for s in shown["settlements"]] == [
        (4000, part.event_id)
    ]
    assert await _inbox_rows(billing_from_now, too_much.event_id) == 0


async def test_a_redelivered_application_is_counted_once(
    billing_from_now: LiveService, feed: OrderFeed
) -> None:
    account, invoice = await _billed_invoice(billing_from_now, feed, 10000)

    first = await feed.applied(account, invoice["id"], 3000)
    await feed.publish(LEDGER_EVENTS, first)
    await feed.publish(LEDGER_EVENTS, first)
    last = await feed.applied(account, invoice["id"], 1000, source="customer_credit")

    async def both_applied() -> dict[str, Any] | None:
        shown = await _invoice(billing_from_now, invoice["id"])
        return shown if len(shown["settlements"]) >= 2 else None

    shown = await eventually(both_applied, what="two applications")
    assert (shown["status"], shown["amount_paid"], shown["amount_due"]) == (
        "partially_paid", 4000, 6000,
    )  # fmt: skip
    applied = sorted((s["amount"], s["source"], s["source_event_id"]) for s in shown["settlements"])
    assert applied == [
        (1000, "customer_credit", last.event_id),
        (3000, "cash", first.event_id),
    ]  # fmt: skip
    stream = await stored_events(billing_from_now, invoice["id"])
    assert [e.type for e in stream] == [
        "InvoicePosted", "InvoiceSettlementApplied", "InvoiceSettlementApplied",
    ]  # fmt: skip


async def test_w16_hold_from_the_start_then_release_bills_both_months_on_one_invoice(
    billing_from_now: LiveService, feed: OrderFeed
) -> None:
    account = unique("acct")
    client = billing_from_now.client
    order = await feed.order(account, [_seats(unique("sub"))])
    await feed.hold(account, order.stream_id, reason="PO missing")
    await wait_for_schedule_state(
        billing_from_now, account, lambda s: s[0]["next_bill_date"] is None, what="the hold"
    )

    january = await bill_run(client, date(2026, 1, 1), account)
    february = await bill_run(client, date(2026, 2, 1), account)
    await feed.release(account, order.stream_id)
    (released,) = await wait_for_schedule_state(
        billing_from_now, account, lambda s: s[0]["next_bill_date"] is not None, what="the release"
    )
    catch_up = await bill_run(client, date(2026, 2, 15), account)
    march = await bill_run(client, date(2026, 3, 1), account)

    assert (january["invoice_ids"], february["invoice_ids"]) == ([], [])
    assert released["next_bill_date"] == "2026-01-01"
    both, normal = await invoices(client, account)
    assert catch_up["invoice_ids"] == [both["id"]] and march["invoice_ids"] == [normal["id"]]
    assert (both["invoice_date"], both["due_date"], both["total"]) == (
        "2026-02-15", "2026-03-17", 20000,
    )  # fmt: skip
    assert lines(both) == [
        ("recurring", 5, "2026-01-01", "2026-01-31", 10000),
        ("recurring", 5, "2026-02-01", "2026-02-28", 10000),
    ]
    assert lines(normal) == [("recurring", 5, "2026-03-01", "2026-03-31", 10000)]


async def test_w17_billing_date_override_bills_january_on_the_20th(
    billing_from_now: LiveService, feed: OrderFeed
) -> None:
    account = unique("acct")
    client = billing_from_now.client
    order = await feed.order(account, [_seats(unique("sub"))])
    await feed.override(account, order.stream_id, date(2026, 1, 20))
    await wait_for_schedule_state(
        billing_from_now,
        account,
        lambda s: s[0]["next_bill_date"] == "2026-01-20",
        what="the override",
    )

    first = await bill_run(client, date(2026, 1, 1), account)
    january = await bill_run(client, date(2026, 1, 20), account)
    february = await bill_run(client, date(2026, 2, 1), account)

    assert first["invoice_ids"] == []
    jan, feb = await invoices(client, account)
    assert january["invoice_ids"] == [jan["id"]] and february["invoice_ids"] == [feb["id"]]
    assert (jan["invoice_date"], jan["due_date"], jan["total"]) == (
        "2026-01-20", "2026-02-19", 10000,
    )  # fmt: skip
    assert lines(jan) == [("recurring", 5, "2026-01-01", "2026-01-31", 10000)]
    assert (feb["invoice_date"], feb["due_date"]) == ("2026-02-01", "2026-03-03")
    assert lines(feb) == [("recurring", 5, "2026-02-01", "2026-02-28", 10000)]


def _payload_lines(envelope: Envelope) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = envelope.payload["lines"]
    return found


async def test_billing_events_carry_the_figures_the_api_shows(
    billing_from_now: LiveService, feed: OrderFeed
) -> None:
    account, seat = unique("acct"), unique("sub")
    client = billing_from_now.client
    setup = item(unique("sub"), quantity=1, unit_price=25000, start=YEAR_START, end=YEAR_END,
                 sku="SETUP", name="Setup", charge_type="one_time")  # fmt: skip
    await feed.order(account, [_seats(seat, quantity=10, unit_price=5000), setup])
    await wait_for_schedules(billing_from_now, account, 2)
    await bill_run(client, YEAR_START, account)
    await feed.order(
        account,
        [
            item(
                seat,
                quantity=7,
                quantity_delta=-3,
                unit_price=5000,
                start=date(2026, 1, 20),
                end=YEAR_END,
            )
        ],
        kind="amendment",
    )
    await wait_for_schedule_state(
        billing_from_now,
        account,
        lambda s: sum(len(x["quantities"]) for x in s) == 3,
        what="the downgrade",
    )
    await bill_run(client, date(2026, 1, 20), account)
    await bill_run(client, date(2026, 2, 1), account)
    posted, voided = await invoices(client, account)
    (note,) = await credit_notes(client, account)
    void = await client.post(f"/v1/invoices/{voided['id']}/void", json={"reason": "duplicate"},
                             headers=OPS)  # fmt: skip
    assert void.status_code == 200, void.text
    streams = {posted["id"], voided["id"], note["id"]}

    def announced(envelopes: list[Envelope]) -> bool:
        types = [(e.stream_id, e.type) for e in envelopes if e.stream_id in streams]
        return len(types) == 4

    async with TopicReader(billing_from_now.runtime.settings.kafka_bootstrap, BILLING_EVENTS) as r:
        envelopes = await r.read_until(announced)
        keys = r.keys
    ours = [e for e in envelopes if e.stream_id in streams]
    by_type = {(e.stream_id, e.type): e for e in ours}
    assert set(by_type) == {
        (posted["id"], "InvoicePosted"), (voided["id"], "InvoicePosted"),
        (note["id"], "CreditNoteIssued"), (voided["id"], "InvoiceVoided"),
    }  # fmt: skip
    assert {keys[e.event_id] for e in ours} == {account.encode()}

    first = by_type[posted["id"], "InvoicePosted"].payload
    shown = await _invoice(billing_from_now, posted["id"])
    for name in ("number", "bill_run_id", "account_id", "currency", "invoice_date", "due_date",
                 "subtotal", "total", "amount_paid", "amount_due", "status"):  # fmt: skip
        assert first[name] == shown[name], name
    assert first["lines"] == shown["lines"]
    assert lines(shown) == [
        ("recurring", 10, "2026-01-01", "2026-01-31", 50000),
        ("one_time", 1, "2026-01-01", "2026-01-01", 25000),
    ]
    assert (first["total"], first["deferred_total"], first["one_time_total"]) == (
        75000, 50000, 25000,
    )  # fmt: skip

    issued = by_type[note["id"], "CreditNoteIssued"].payload
    assert (issued["number"], issued["issue_date"], issued["total"]) == (
        note["number"], note["issue_date"], note["total"],
    )  # fmt: skip
    assert issued["lines"] == note["lines"]
    assert lines(note) == [("credit", 3, "2026-01-20", "2026-01-31", -5806)]
    assert (issued["total"], issued["deferred_total"], issued["one_time_total"]) == (
        5806, -5806, 0,
    )  # fmt: skip

    second = by_type[voided["id"], "InvoicePosted"].payload
    assert (second["number"], second["total"], second["deferred_total"]) == (
        voided["number"], 35000, 35000,
    )  # fmt: skip
    assert second["lines"] == voided["lines"]
    reversal = by_type[voided["id"], "InvoiceVoided"].payload
    assert reversal == {
        "invoice_id": voided["id"], "number": voided["number"], "account_id": account,
        "currency": "USD", "voided_on": "2026-01-10", "total": 35000,
        "deferred_total": 35000, "one_time_total": 0, "reason": "duplicate",
    }  # fmt: skip
    after = await _invoice(billing_from_now, voided["id"])
    assert (after["status"], after["voided_on"], after["amount_due"]) == (
        "void", "2026-01-10", 0,
    )  # fmt: skip
