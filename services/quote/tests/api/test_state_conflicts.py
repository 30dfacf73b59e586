"""A step the quote's status forbids is a 409 problem and emits nothing, stored or published."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from revline_events.envelope import Envelope
from revline_testkit.live import LiveService, TopicReader, auth, stored_events

SALES = auth("sales")

# (steps that succeed first, the refused step); "edit" is a PATCH.
CONFLICTS = [
    pytest.param(["reject"], "accept", id="accept-a-rejected-quote"),
    pytest.param(["accept"], "accept", id="accept-an-accepted-quote-twice"),
    pytest.param(["present", "accept"], "accept", id="accept-a-presented-then-accepted-quote"),
    pytest.param(["accept"], "reject", id="reject-an-accepted-quote"),
    pytest.param(["reject"], "reject", id="reject-a-rejected-quote"),
    pytest.param(["accept"], "present", id="present-an-accepted-quote"),
    pytest.param(["present"], "present", id="present-a-presented-quote"),
    pytest.param(["reject"], "present", id="present-a-rejected-quote"),
    pytest.param(["present"], "edit", id="patch-a-presented-quote"),
    pytest.param(["accept"], "edit", id="patch-an-accepted-quote"),
    pytest.param(["reject"], "edit", id="patch-a-rejected-quote"),
]
STATUS_AFTER = {"present": "presented", "accept": "accepted", "reject": "rejected"}


@pytest.fixture
def service(stocked_service_per_module: LiveService) -> LiveService:
    """The module's stocked quote service (SQLite, then PostgreSQL), shared by its tests."""
    return stocked_service_per_module


async def _step(service: LiveService, quote_id: str, step: str) -> Any:
    if step == "edit":
        patch = {"lines": [{"sku": "SEAT", "quantity": 99}]}
        return await service.client.patch(f"/v1/quotes/{quote_id}", json=patch, headers=SALES)
    return await service.client.post(f"/v1/quotes/{quote_id}/{step}", headers=SALES)


@pytest.mark.parametrize(("before", "refused"), CONFLICTS)
async def test_forbidden_step_is_a_409_problem_and_emits_nothing(
    service: LiveService,
    f1_quote: dict[str, Any],
    before: list[str],
    refused: str,
) -> None:
    client = service.client
    quote_id = (await client.post("/v1/quotes", json=f1_quote, headers=SALES)).json()["id"]
    for step in before:
        assert (await _step(service, quote_id, step)).status_code == 200
    stored_before = [e.type for e in await stored_events(service, quote_id)]
    shown_before = (await client.get(f"/v1/quotes/{quote_id}", headers=SALES)).json()

    response = await _step(service, quote_id, refused)

    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    status = STATUS_AFTER[before[-1]]
    assert response.json() == {
        "type": "https://revline.dev/problems/invalid-transition",
        "title": "Quote status forbids this",
        "status": 409,
        "detail": f"quote {quote_id} is {status}; cannot {refused} it",
    }
    assert [e.type for e in await stored_events(service, quote_id)] == stored_before
    assert (await client.get(f"/v1/quotes/{quote_id}", headers=SALES)).json() == shown_before
    await _assert_published_exactly(service, f1_quote, quote_id, stored_before)


async def _assert_published_exactly(
    service: LiveService, body: dict[str, Any], quote_id: str, types: list[str]
) -> None:
    """The topic holds exactly `types` for the quote once a later marker quote is published.

    The marker has the same account, hence the same partition: the relay publishes
    in commit order, so anything the refused step had queued would come before it.
    """
    marker = await service.client.post("/v1/quotes", json=body, headers=SALES)
    marker_id = marker.json()["id"]

    def marker_seen(envelopes: list[Envelope]) -> bool:
        return any(e.stream_id == marker_id for e in envelopes)

    async with TopicReader(service.runtime.settings.kafka_bootstrap, "quote.events") as topic:
        await topic.read_until(marker_seen)
        assert [e.type for e in topic.of_stream(quote_id)] == types


async def test_concurrent_accepts_accept_the_quote_exactly_once(
    service: LiveService, f1_quote: dict[str, Any]
) -> None:
    client = service.client
    quote_id = (await client.post("/v1/quotes", json=f1_quote, headers=SALES)).json()["id"]
    answers = await asyncio.gather(
        *(client.post(f"/v1/quotes/{quote_id}/accept", headers=SALES) for _ in range(5))
    )
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409, 409]
    assert all(
        a.headers["content-type"] == "application/problem+json" for a in answers if a.is_error
    )
    stored = await stored_events(service, quote_id)
    assert [e.type for e in stored] == ["QuoteCreated", "QuoteAccepted"]
