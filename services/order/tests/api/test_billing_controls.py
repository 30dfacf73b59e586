"""Hold, release and billing-date override (ops): each emits its event once, or refuses."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
from order_feed import ORDER_EVENTS, READER, ContractFeed, subscription, wait_for_orders
from revline_events.envelope import Envelope
from revline_testkit.live import LiveService, TopicReader, auth, stored_events
from revline_testkit.topics import unique

OPS = auth("ops")


@pytest.fixture
async def order(order_service: LiveService, feed: ContractFeed) -> dict[str, Any]:
    """A new order of a contract of its own: W16's 2000 x 5 a month from 2026-01-01."""
    contract = feed.contract(unique("acct"))
    sub = subscription(unique("sub"), quantity=5, unit_price=2000, start=date(2026, 1, 1),
                       end=date(2026, 12, 31))  # fmt: skip
    await contract.publish(contract.created([sub], start=date(2026, 1, 1),
                                            end=date(2026, 12, 31)))  # fmt: skip
    (found,) = await wait_for_orders(order_service.client, 1, contract_id=contract.contract_id)
    return found


async def _types(service: LiveService, order_id: str) -> list[str]:
    return [e.type for e in await stored_events(service, order_id)]


def _problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"https://revline.dev/problems/{slug}"
    assert body["status"] == status
    return body


async def test_w16_hold_then_release_emits_both_and_shows_on_the_order(
    order_service: LiveService, order: dict[str, Any]
) -> None:
    client, path = order_service.client, f"/v1/orders/{order['id']}"

    held = await client.post(f"{path}/hold", json={"reason": "  PO missing  "}, headers=OPS)

    assert held.status_code == 200, held.text
    assert (held.json()["billing_hold"], held.json()["hold_reason"]) == (True, "PO missing")
    assert held.json()["held_since"] == "2026-01-10T09:30:00Z"
    assert (await client.get(path, headers=READER)).json() == held.json()

    released = await client.post(f"{path}/release", headers=OPS)

    assert released.status_code == 200, released.text
    shown = (await client.get(path, headers=READER)).json()
    assert shown == released.json()
    assert (shown["billing_hold"], shown["hold_reason"], shown["held_since"]) == (
        False, None, None,
    )  # fmt: skip
    assert shown["items"] == order["items"]
    assert await _types(order_service, order["id"]) == [
        "OrderActivated", "OrderBillingHeld", "OrderBillingReleased",
    ]  # fmt: skip

    def all_three(envelopes: list[Envelope]) -> bool:
        return sum(e.stream_id == order["id"] for e in envelopes) == 3

    async with TopicReader(order_service.runtime.settings.kafka_bootstrap, ORDER_EVENTS) as topic:
        await topic.read_until(all_three)
        _, hold_event, release_event = topic.of_stream(order["id"])
    assert hold_event.payload == {
        "order_id": order["id"], "account_id": order["account_id"], "reason": "PO missing",
    }  # fmt: skip
    assert release_event.payload == {"order_id": order["id"], "account_id": order["account_id"]}
    assert [hold_event.stream_version, release_event.stream_version] == [2, 3]
    assert topic.keys[hold_event.event_id] == order["account_id"].encode()


async def test_holding_a_held_order_is_a_409_and_emits_nothing(
    order_service: LiveService, order: dict[str, Any]
) -> None:
    path = f"/v1/orders/{order['id']}/hold"
    assert (await order_service.client.post(path, json={"reason": "a"}, headers=OPS)).is_success

    again = await order_service.client.post(path, json={"reason": "b"}, headers=OPS)

    body = _problem(again, 409, "billing-already-held")
    assert body["detail"] == f"billing of order {order['id']} is already on hold"
    shown = (await order_service.client.get(f"/v1/orders/{order['id']}", headers=READER)).json()
    assert shown["hold_reason"] == "a"
    assert await _types(order_service, order["id"]) == ["OrderActivated", "OrderBillingHeld"]


async def test_releasing_an_order_not_on_hold_is_a_409_and_emits_nothing(
    order_service: LiveService, order: dict[str, Any]
) -> None:
    path = f"/v1/orders/{order['id']}/release"

    refused = await order_service.client.post(path, headers=OPS)

    _problem(refused, 409, "billing-not-held")
    assert await _types(order_service, order["id"]) == ["OrderActivated"]


async def test_w17_override_sets_the_next_billing_date_and_emits_it(
    order_service: LiveService, order: dict[str, Any]
) -> None:
    client, path = order_service.client, f"/v1/orders/{order['id']}"

    overridden = await client.post(
        f"{path}/billing-date-override", json={"next_billing_date": "2026-01-20"}, headers=OPS
    )

    assert overridden.status_code == 200, overridden.text
    assert overridden.json()["next_billing_date_override"] == "2026-01-20"
    assert (await client.get(path, headers=READER)).json() == overridden.json()
    (_, event) = await stored_events(order_service, order["id"])
    assert event.type == "OrderBillingDateOverridden"
    assert event.payload == {
        "order_id": order["id"], "account_id": order["account_id"],
        "next_billing_date": "2026-01-20",
    }  # fmt: skip


async def test_override_to_the_date_in_force_answers_the_order_and_emits_nothing(
    order_service: LiveService, order: dict[str, Any]
) -> None:
    path = f"/v1/orders/{order['id']}/billing-date-override"
    body = {"next_billing_date": "2026-02-01"}
    first = await order_service.client.post(path, json=body, headers=OPS)
    later = await order_service.client.post(
        path, json={"next_billing_date": "2026-03-01"}, headers=OPS
    )
    back = await order_service.client.post(path, json=body, headers=OPS)
    same = await order_service.client.post(path, json=body, headers=OPS)

    assert [r.status_code for r in (first, later, back, same)] == [200] * 4
    assert later.json()["next_billing_date_override"] == "2026-03-01"
    assert same.json() == back.json()
    assert same.json()["next_billing_date_override"] == "2026-02-01"
    assert await _types(order_service, order["id"]) == [
        "OrderActivated", *["OrderBillingDateOverridden"] * 3,
    ]  # fmt: skip


async def test_override_before_the_effective_date_is_a_422_naming_the_field(
    order_service: LiveService, order: dict[str, Any]
) -> None:
    refused = await order_service.client.post(
        f"/v1/orders/{order['id']}/billing-date-override",
        json={"next_billing_date": "2025-12-31"},
        headers=OPS,
    )

    body = _problem(refused, 422, "validation")
    assert body["errors"] == [
        {"field": "next_billing_date", "in": "body", "message": "must be on or after 2026-01-01"}
    ]
    assert await _types(order_service, order["id"]) == ["OrderActivated"]


@pytest.mark.parametrize(
    ("step", "body", "field"),
    [
        pytest.param("hold", {}, "reason", id="hold-without-reason"),
        pytest.param("hold", {"reason": ""}, "reason", id="hold-empty-reason"),
        pytest.param("hold", {"reason": "   "}, "reason", id="hold-blank-reason"),
        pytest.param("hold", {"reason": "x" * 501}, "reason", id="hold-reason-too-long"),
        pytest.param("hold", {"reason": "a\x00b"}, "reason", id="hold-reason-with-nul"),
        pytest.param("hold", {"reason": 7}, "reason", id="hold-reason-not-text"),
        pytest.param("hold", {"reason": "a", "until": "x"}, "until", id="hold-unknown-field"),
        pytest.param("billing-date-override", {}, "next_billing_date", id="override-no-date"),
        pytest.param("billing-date-override", {"next_billing_date": "2026-02-30"},
                     "next_billing_date", id="override-impossible-date"),
        pytest.param("billing-date-override", {"next_billing_date": "2026-02-01T00:00:00"},
                     "next_billing_date", id="override-timestamp"),
        pytest.param("billing-date-override", {"next_billing_date": None},
                     "next_billing_date", id="override-null"),
    ],
)  # fmt: skip
async def test_bad_input_is_a_422_naming_the_field_and_emits_nothing(
    order_service: LiveService, order: dict[str, Any], step: str, body: Any, field: str
) -> None:
    refused = await order_service.client.post(
        f"/v1/orders/{order['id']}/{step}", json=body, headers=OPS
    )

    problem = _problem(refused, 422, "validation")
    assert [e["field"] for e in problem["errors"]] == [field]
    assert await _types(order_service, order["id"]) == ["OrderActivated"]


async def test_a_reason_of_500_characters_is_taken_whole(
    order_service: LiveService, order: dict[str, Any]
) -> None:
    reason = "é" * 500
    held = await order_service.client.post(
        f"/v1/orders/{order['id']}/hold", json={"reason": reason}, headers=OPS
    )
    assert held.status_code == 200, held.text
    assert held.json()["hold_reason"] == reason


@pytest.mark.parametrize(
    ("step", "body"),
    [("hold", {"reason": "r"}), ("release", None),
     ("billing-date-override", {"next_billing_date": "2026-05-01"})],
)  # fmt: skip
async def test_steps_on_an_unknown_order_are_404s(
    order_service: LiveService, step: str, body: Any
) -> None:
    missing = await order_service.client.post(f"/v1/orders/or_none/{step}", json=body, headers=OPS)
    assert _problem(missing, 404, "unknown-order")["detail"] == "no order or_none"


@pytest.mark.parametrize("role", ["sales", "finance"])
async def test_only_ops_and_admin_may_hold_release_or_override(
    order_service: LiveService, order: dict[str, Any], role: str
) -> None:
    client, path = order_service.client, f"/v1/orders/{order['id']}"
    for step, body in [("hold", {"reason": "r"}), ("release", None),
                       ("billing-date-override", {"next_billing_date": "2026-05-01"})]:  # fmt: skip
        refused = await client.post(f"{path}/{step}", json=body, headers=auth(role))
        _problem(refused, 403, "forbidden")
        anonymous = await client.post(f"{path}/{step}", json=body)
        _problem(anonymous, 401, "unauthorized")
    held = await client.post(f"{path}/hold", json={"reason": "r"}, headers=auth("admin"))
    assert held.status_code == 200
    assert (await client.get(path, headers=auth(role))).json()["billing_hold"] is True


async def test_the_same_idempotency_key_replays_the_answer_without_a_second_event(
    order_service: LiveService, order: dict[str, Any]
) -> None:
    client, path = order_service.client, f"/v1/orders/{order['id']}"
    key = {**OPS, "Idempotency-Key": unique("idem")}

    first = await client.post(f"{path}/hold", json={"reason": "r"}, headers=key)
    second = await client.post(f"{path}/hold", json={"reason": "r"}, headers=key)
    other_body = await client.post(f"{path}/hold", json={"reason": "s"}, headers=key)
    other_step = await client.post(f"{path}/release", headers=key)

    assert first.status_code == 200
    assert (second.status_code, second.json()) == (200, first.json())
    assert second.headers["idempotent-replayed"] == "true"
    _problem(other_body, 422, "idempotency-key-reused")
    _problem(other_step, 422, "idempotency-key-reused")
    assert await _types(order_service, order["id"]) == ["OrderActivated", "OrderBillingHeld"]
    release_key = {**OPS, "Idempotency-Key": unique("idem")}
    released = [await client.post(f"{path}/release", headers=release_key) for _ in range(2)]
    assert [r.status_code for r in released] == [200, 200]
    assert await _types(order_service, order["id"]) == [
        "OrderActivated", "OrderBillingHeld", "OrderBillingReleased",
    ]  # fmt: skip
