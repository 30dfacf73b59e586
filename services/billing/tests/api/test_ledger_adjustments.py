"""The ledger's corrections followed by billing over the broker: a reversed payment's
applications taken back (InvoiceAmountUnapplied, W21) and a write-off (InvoiceWrittenOff,
W23, the `uncollectible` status). Redelivery is a no-op; what does not fit goes to the DLQ."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from billing_feed import (
    LEDGER_DLQ,
    LEDGER_EVENTS,
    OPS,
    READER,
    OrderFeed,
    bill_run,
    billing_database,
    from_billing,
    item,
    serving_billing_from_now,
    wait_for_schedules,
)
from revline_testkit.broker import TansuBroker
from revline_testkit.live import LiveService, stored_events
from revline_testkit.topics import RawTopicReader, caught_up, header, unique
from revline_testkit.waiting import eventually

YEAR_START, YEAR_END = date(2026, 1, 1), date(2026, 12, 31)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def billing_from_now(
    request: pytest.FixtureRequest, tansu: TansuBroker, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveService]:
    """A billing service per module on SQLite, then on PostgreSQL, that takes in only the
    events published after it started."""
    tmp_path = tmp_path_factory.mktemp("billing")
    with billing_database(request, tmp_path) as url:
        async with serving_billing_from_now(url, tansu.bootstrap, tmp_path) as service:
            yield service


async def _invoice(service: LiveService, invoice_id: str) -> dict[str, Any]:
    response = await service.client.get(f"/v1/invoices/{invoice_id}", headers=READER)
    assert response.status_code == 200, response.text
    shown: dict[str, Any] = response.json()
    return shown


async def _billed_invoice(
    service: LiveService, feed: OrderFeed, total: int
) -> tuple[str, dict[str, Any]]:
    """A new account with one posted invoice of `total` (January, one unit)."""
    account = unique("acct")
    sub = unique("sub")
    await feed.order(account, [item(sub, quantity=1, unit_price=total, start=YEAR_START,
                                    end=YEAR_END)])  # fmt: skip
    await wait_for_schedules(service, account, 1)
    run = await bill_run(service.client, YEAR_START, account)
    (invoice_id,) = run["invoice_ids"]
    return account, await _invoice(service, invoice_id)


def _figures(shown: dict[str, Any]) -> tuple[str, int, int]:
    return shown["status"], shown["amount_paid"], shown["amount_due"]


async def _settled(service: LiveService, invoice_id: str, count: int) -> dict[str, Any]:
    """The invoice once `count` settlements (applications and reversals) are on it."""

    async def enough() -> dict[str, Any] | None:
        shown = await _invoice(service, invoice_id)
        return shown if len(shown["settlements"]) >= count else None

    return await eventually(enough, what=f"{count} settlements on {invoice_id}")


async def _with_status(service: LiveService, invoice_id: str, status: str) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        shown = await _invoice(service, invoice_id)
        return shown if shown["status"] == status else None

    return await eventually(reached, what=f"{invoice_id} {status}")


async def test_w21_a_paid_invoice_reopens_as_its_applications_are_taken_back(
    billing_from_now: LiveService, feed: OrderFeed
) -> None:
    account, invoice = await _billed_invoice(billing_from_now, feed, 15000)
    await feed.applied(account, invoice["id"], 10000)
    await feed.applied(account, invoice["id"], 5000, source="customer_credit")
    assert _figures(await _settled(billing_from_now, invoice["id"], 2)) == ("paid", 15000, 0)

    cash = await feed.unapplied(account, invoice["id"], 10000)
    partly = await _settled(billing_from_now, invoice["id"], 3)
    credit = await feed.unapplied(account, invoice["id"], 5000, source="customer_credit")
    reopened = await _settled(billing_from_now, invoice["id"], 4)

    assert _figures(partly) == ("partially_paid", 5000, 10000)
    assert _figures(reopened) == ("posted", 0, 15000)
    # Settlements are listed by date (then event id): the two reversals come last.
    assert sorted((s["amount"], s["source"], s["applied_on"], s["source_event_id"])
                  for s in reopened["settlements"][2:]) == [
        (-10000, "cash", "2026-03-10", cash.event_id),
        (-5000, "customer_credit", "2026-03-10", credit.event_id),
    ]  # fmt: skip
    stream = await stored_events(billing_from_now, invoice["id"])
    assert [e.type for e in stream][-2:] == ["InvoiceSettlementReversed"] * 2
    assert stream[-1].payload["status"] == "posted"
    assert stream[-1].causation_id == credit.event_id
    listed = await billing_from_now.client.get(
        "/v1/invoices", params={"account_id": account, "status": "posted"}, headers=READER
    )
    assert [i["id"] for i in listed.json()["data"]] == [invoice["id"]]


async def test_w23_a_written_off_invoice_is_uncollectible_with_nothing_due(
    billing_from_now: LiveService, feed: OrderFeed
) -> None:
    account, invoice = await _billed_invoice(billing_from_now, feed, 10000)
    await feed.applied(account, invoice["id"], 4000)
    await _settled(billing_from_now, invoice["id"], 1)

    written_off = await feed.written_off(account, invoice["id"], 6000)
    shown = await _with_status(billing_from_now, invoice["id"], "uncollectible")

    assert _figures(shown) == ("uncollectible", 4000, 0)
    listed = await billing_from_now.client.get(
        "/v1/invoices", params={"account_id": account, "status": "uncollectible"},
        headers=READER,
    )  # fmt: skip
    assert [i["id"] for i in listed.json()["data"]] == [invoice["id"]]
    stream = await stored_events(billing_from_now, invoice["id"])
    assert stream[-1].type == "InvoiceMarkedUncollectible"
    assert stream[-1].payload["amount_written_off"] == 6000
    assert stream[-1].causation_id == written_off.event_id

    void = await billing_from_now.client.post(f"/v1/invoices/{invoice['id']}/void", headers=OPS)

    assert void.status_code == 409, void.text
    assert void.headers["content-type"].startswith("application/problem+json")
    assert "uncollectible" in void.json()["detail"]
    assert _figures(await _invoice(billing_from_now, invoice["id"])) == (
        "uncollectible", 4000, 0
    )  # fmt: skip


async def test_w21_after_w23_the_invoice_stays_uncollectible_and_nothing_is_due(
    billing_from_now: LiveService, feed: OrderFeed
) -> None:
    account, invoice = await _billed_invoice(billing_from_now, feed, 10000)
    await feed.applied(account, invoice["id"], 4000)
    await feed.written_off(account, invoice["id"], 6000)
    await _with_status(billing_from_now, invoice["id"], "uncollectible")

    await feed.unapplied(account, invoice["id"], 4000, unapplied_on=date(2026, 7, 1))
    shown = await _settled(billing_from_now, invoice["id"], 2)

    assert _figures(shown) == ("uncollectible", 0, 0)


async def test_money_applied_to_an_uncollectible_invoice_goes_to_the_dlq(
    billing_from_now: LiveService, feed: OrderFeed
) -> None:
    account, invoice = await _billed_invoice(billing_from_now, feed, 10000)
    await feed.written_off(account, invoice["id"], 10000)
    await _with_status(billing_from_now, invoice["id"], "uncollectible")

    late = await feed.applied(account, invoice["id"], 100)

    async with RawTopicReader(billing_from_now.runtime.settings.kafka_bootstrap, LEDGER_DLQ) as dlq:
        parked = await dlq.first(lambda r: r.value == late.to_bytes() and from_billing(r))
    assert header(parked, "error") == (
        f"SettlementDoesNotFit: invoice {invoice['id']}: the invoice is uncollectible"
    )
    assert _figures(await _invoice(billing_from_now, invoice["id"])) == ("uncollectible", 0, 0)


@pytest.mark.parametrize(
    ("kind", "amount", "reason"),
    [
        ("unapplied", 4001, "4001 taken back with 4000 paid"),
        ("written_off", 5999, "5999 written off with 6000 due"),
    ],
)
async def test_a_correction_that_does_not_fit_goes_to_the_dlq_and_the_next_applies(
    billing_from_now: LiveService, feed: OrderFeed, kind: str, amount: int, reason: str
) -> None:
    account, invoice = await _billed_invoice(billing_from_now, feed, 10000)
    await feed.applied(account, invoice["id"], 4000)
    await _settled(billing_from_now, invoice["id"], 1)

    if kind == "unapplied":
        poison = await feed.unapplied(account, invoice["id"], amount)
    else:
        poison = await feed.written_off(account, invoice["id"], amount)
    await feed.unapplied(account, invoice["id"], 1000)

    async with RawTopicReader(billing_from_now.runtime.settings.kafka_bootstrap, LEDGER_DLQ) as dlq:
        parked = await dlq.first(lambda r: r.value == poison.to_bytes() and from_billing(r))
    assert header(parked, "source_topic") == LEDGER_EVENTS
    assert header(parked, "error") == f"SettlementDoesNotFit: invoice {invoice['id']}: {reason}"
    shown = await _settled(billing_from_now, invoice["id"], 2)
    assert _figures(shown) == ("partially_paid", 3000, 7000)


async def test_redelivered_corrections_take_effect_once(
    billing_from_now: LiveService, feed: OrderFeed
) -> None:
    account, invoice = await _billed_invoice(billing_from_now, feed, 10000)
    await feed.applied(account, invoice["id"], 4000)
    taken_back = await feed.unapplied(account, invoice["id"], 1000)
    await feed.publish(LEDGER_EVENTS, taken_back)
    written_off = await feed.written_off(account, invoice["id"], 7000)
    await feed.publish(LEDGER_EVENTS, written_off)
    await feed.publish(LEDGER_EVENTS, taken_back)

    await _with_status(billing_from_now, invoice["id"], "uncollectible")
    await caught_up(billing_from_now, LEDGER_EVENTS)

    shown = await _invoice(billing_from_now, invoice["id"])
    assert _figures(shown) == ("uncollectible", 3000, 0)
    assert [s["amount"] for s in shown["settlements"]] == [4000, -1000]
    stream = await stored_events(billing_from_now, invoice["id"])
    assert [e.type for e in stream] == [
        "InvoicePosted", "InvoiceSettlementApplied", "InvoiceSettlementReversed",
        "InvoiceMarkedUncollectible",
    ]  # fmt: skip
