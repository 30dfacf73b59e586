"""Operations: probes and OpenAPI, poison events, and what contract.events carries."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from contract_driver import (
    accepted_quote,
    dead_letter,
    every_kind_of_change,
    line,
    published_events,
    unique_account,
)
from revline_testkit.live import auth

if TYPE_CHECKING:
    from contract_driver import ContractDriver


async def test_probes_metrics_and_openapi(contracts: ContractDriver) -> None:
    client = contracts.client
    assert (await client.get("/healthz")).json() == {"status": "ok", "service": "contract"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "broker": "ok"}
    assert "revline_http_request_seconds" in (await client.get("/metrics")).text
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {
        "/v1/contracts", "/v1/contracts/{contract_id}", "/v1/contracts/{contract_id}/terminate",
        "/v1/contracts/{contract_id}/renew", "/v1/renewal-runs", "/v1/renewal-runs/{run_id}",
        "/v1/admin/state-digest",
    } <= set(paths)  # fmt: skip
    consumer = await client.get("/v1/admin/consumer", headers=auth("admin"))
    assert consumer.json()["topics"] == ["quote.events"]


async def test_a_poison_event_goes_to_the_dead_letter_topic_and_the_service_keeps_serving(
    contracts: ContractDriver,
) -> None:
    account = unique_account()
    valid = contracts.envelope(
        accepted_quote(account, [line("SEAT", 1, 100)], start_date=date(2026, 1, 1))
    )
    # A well-formed envelope whose QuoteAccepted payload fails validation. (Bytes that are
    # no envelope at all are dead-lettered the same way, but other suites read this shared
    # topic from its start with readers that parse every record.)
    poison = valid.model_copy(update={"payload": {**valid.payload, "lines": "none"}})
    await contracts.send(poison.to_bytes(), account)

    served = await contracts.accept(
        accepted_quote(account, [line("SEAT", 1, 100)], start_date=date(2026, 1, 1))
    )

    assert served["status"] == "active"
    headers = await dead_letter(contracts.bootstrap, poison.event_id.encode())
    assert "payload of QuoteAccepted v1 is invalid" in headers["error"]
    assert (headers["source_topic"], headers["consumer"]) == ("quote.events", "contract")
    listed = await contracts.client.get(
        "/v1/contracts", params={"quote_id": poison.stream_id}, headers=auth("finance")
    )
    assert listed.json()["data"] == []


async def test_contract_events_carries_every_change_in_order(contracts: ContractDriver) -> None:
    (first, second), run_id = await every_kind_of_change(contracts)
    expected = {
        first: ["ContractCreated", "ContractAmended", "ContractRenewed", "ContractRenewed",
                "ContractRenewed", "ContractTerminated"],
        second: ["ContractCreated", "ContractExpired"],
        run_id: ["RenewalRunCompleted"],
    }  # fmt: skip

    def complete(events: list[Any]) -> bool:
        return sum(1 for _ in events) >= sum(len(types) for types in expected.values())

    events = await published_events(contracts.bootstrap, set(expected), complete)

    for stream, types in expected.items():
        mine = [e for e in events if e.stream_id == stream]
        assert [e.type for e in mine] == types
        assert [e.stream_version for e in mine] == list(range(1, len(types) + 1))
    assert {e.account_id for e in events if e.stream_id != run_id} == {
        (await contracts.get(first))["account_id"]
    }
    (completed,) = [e for e in events if e.stream_id == run_id]
    assert first in completed.payload["renewed"] and second in completed.payload["expired"]
