"""QuoteAccepted on quote.events carries everything downstream needs, keyed by account."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from revline_events.clock import FixedClock
from revline_events.envelope import Envelope
from revline_testkit.live import LiveService, TopicReader, auth, stored_events

SALES = auth("sales")


async def _published(service: LiveService, quote_id: str, event_type: str) -> tuple[Envelope, Any]:
    """The quote's first `event_type` on quote.events, and its record key."""

    def found(envelopes: list[Envelope]) -> bool:
        return any(e.stream_id == quote_id and e.type == event_type for e in envelopes)

    async with TopicReader(service.runtime.settings.kafka_bootstrap, "quote.events") as topic:
        await topic.read_until(found)
        envelope = next(e for e in topic.of_stream(quote_id) if e.type == event_type)
        return envelope, topic.keys[envelope.event_id]


async def test_quote_accepted_carries_lines_prices_dates_terms_and_totals(
    stocked_service: LiveService, f1_quote: dict[str, Any], clock: FixedClock
) -> None:
    client = stocked_service.client
    quote_id = (await client.post("/v1/quotes", json=f1_quote, headers=SALES)).json()["id"]
    clock.advance(timedelta(days=2))
    accepted = await client.post(
        f"/v1/quotes/{quote_id}/accept",
        headers={**SALES, "X-Correlation-Id": "deal-acme-2026"},
    )
    assert accepted.status_code == 200, accepted.text

    envelope, key = await _published(stocked_service, quote_id, "QuoteAccepted")

    assert key == b"acme"
    assert (envelope.stream_id, envelope.stream_version) == (quote_id, 2)
    assert envelope.account_id == "acme"
    assert envelope.producer == "quote"
    assert envelope.effective_date == date(2026, 1, 15)
    assert envelope.correlation_id == "deal-acme-2026"
    assert envelope.occurred_at.isoformat() == "2026-01-12T09:30:00+00:00"
    assert envelope.payload == {
        "quote_id": quote_id, "account_id": "acme", "currency": "USD", "kind": "new",
        "contract_id": None, "version": 1, "start_date": "2026-01-15", "term_months": 12,
        "end_date": "2027-01-14", "bill_cycle_day": 1, "billing_timing": "advance",
        "auto_renew": False, "accepted_on": "2026-01-12",
        "lines": [
            {"line_no": 1, "sku": "SEAT", "name": "Seat", "charge_type": "recurring",
             "billing_period": "month", "quantity": 10, "list_price": 5000,
             "discount_percent": "10", "net_unit_price": 4500, "amount_per_period": 45000,
             "subscription_id": None},
            {"line_no": 2, "sku": "SETUP", "name": "Setup", "charge_type": "one_time",
             "billing_period": None, "quantity": 1, "list_price": 25000,
             "discount_percent": "0", "net_unit_price": 25000, "amount_per_period": 25000,
             "subscription_id": None},
        ],
        "totals": {"recurring_per_period": 45000, "one_time": 25000,
                   "total_contract_value": 565000},
    }  # fmt: skip
    stored = await stored_events(stocked_service, quote_id)
    assert [e.type for e in stored] == ["QuoteCreated", "QuoteAccepted"]
    assert stored[-1].event_id == envelope.event_id


async def test_quote_accepted_after_a_patch_carries_the_revised_version(
    stocked_service: LiveService, f1_quote: dict[str, Any]
) -> None:
    client = stocked_service.client
    quote_id = (await client.post("/v1/quotes", json=f1_quote, headers=SALES)).json()["id"]
    lines = [{"sku": "SEAT", "quantity": 12, "discount_percent": "10"}, {"sku": "SETUP",
             "quantity": 1, "unit_price": 20000}]  # fmt: skip
    patched = await client.patch(f"/v1/quotes/{quote_id}", json={"lines": lines}, headers=SALES)
    assert patched.status_code == 200, patched.text
    assert (await client.post(f"/v1/quotes/{quote_id}/present", headers=SALES)).is_success
    assert (await client.post(f"/v1/quotes/{quote_id}/accept", headers=SALES)).is_success

    envelope, _key = await _published(stocked_service, quote_id, "QuoteAccepted")

    assert envelope.stream_version == 4
    assert envelope.payload["version"] == 2
    assert [(x["sku"], x["quantity"], x["list_price"], x["amount_per_period"])
            for x in envelope.payload["lines"]] == [("SEAT", 12, 5000, 54000),
                                                    ("SETUP", 1, 20000, 20000)]  # fmt: skip
    # 17/31 of 54000 = 29613, 11 whole months = 594000, 14/31 = 24387; + 20000 one-time.
    assert envelope.payload["totals"] == {
        "recurring_per_period": 54000, "one_time": 20000, "total_contract_value": 668000,
    }  # fmt: skip
