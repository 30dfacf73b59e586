"""Termination: T is the first day without service; refusals emit nothing (BILLING_RULES §5)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import pytest
from contract_driver import accepted_quote, line, unique_account
from revline_testkit.live import auth

if TYPE_CHECKING:
    from contract_driver import ContractDriver

SALES = auth("sales")


async def w13_contract(contracts: ContractDriver) -> dict[str, Any]:
    """W13: yearly 120000 x2, 2026 (2026-01-01..2026-12-31), with a one-time fee."""
    lines = [line("PLAN", 2, 120000, billing_period="year"), line("SETUP", 1, 500, one_time=True)]
    quote = accepted_quote(unique_account(), lines, start_date=date(2026, 1, 1), bill_cycle_day=1)
    return await contracts.accept(quote)


async def terminate(
    contracts: ContractDriver, contract_id: str, body: dict[str, Any], **headers: str
) -> Any:
    return await contracts.client.post(
        f"/v1/contracts/{contract_id}/terminate", json=body, headers={**SALES, **headers}
    )


async def test_w13_termination_ends_service_the_day_before_t(contracts: ContractDriver) -> None:
    contract = await w13_contract(contracts)

    response = await terminate(
        contracts, contract["id"], {"effective_date": "2026-09-01", "credit_unused": True}
    )

    assert response.status_code == 200, response.text
    ended = response.json()
    assert {k: ended[k] for k in ("status", "end_date", "terminated_on", "credit_unused")} == {
        "status": "terminated", "end_date": "2026-08-31", "terminated_on": "2026-09-01",
        "credit_unused": True,
    }  # fmt: skip
    plan, setup = ended["subscriptions"]
    assert (plan["end_date"], plan["quantity"]) == ("2026-08-31", 2)
    assert setup["end_date"] == "2026-01-01"
    assert await contracts.get(contract["id"]) == ended
    event = (await contracts.events(contract["id"]))[-1]
    assert (event.type, event.stream_version, event.effective_date) == (
        "ContractTerminated", 2, date(2026, 9, 1),
    )  # fmt: skip
    assert {k: event.payload[k] for k in ("effective_date", "end_date", "credit_unused")} == {
        "effective_date": "2026-09-01", "end_date": "2026-08-31", "credit_unused": True,
    }  # fmt: skip
    assert [(s["sku"], s["quantity"], s["end_date"]) for s in event.payload["subscriptions"]] == [
        ("PLAN", 2, "2026-08-31"), ("SETUP", 1, "2026-01-01"),
    ]  # fmt: skip


async def test_w14_termination_without_credit(contracts: ContractDriver) -> None:
    quote = accepted_quote(unique_account(), [line("SEAT", 1, 6100)], start_date=date(2026, 1, 1))
    contract = await contracts.accept(quote)

    response = await terminate(
        contracts, contract["id"], {"effective_date": "2026-06-16", "credit_unused": False},
        **auth("ops"),
    )  # fmt: skip

    assert response.status_code == 200, response.text
    assert (response.json()["end_date"], response.json()["credit_unused"]) == ("2026-06-15", False)


@pytest.mark.parametrize(
    ("effective_date", "status"),
    [
        ("2026-01-01", 422),  # T on the start date: no service at all
        ("2025-12-31", 422),
        ("2027-01-01", 422),  # T after the end date: nothing to stop
        ("2026-01-02", 200),  # the first day may be all there is
        ("2026-12-31", 200),  # and the last day may be cut
    ],
)
async def test_t_must_be_after_the_start_and_on_or_before_the_end(
    contracts: ContractDriver, effective_date: str, status: int
) -> None:
    contract = await w13_contract(contracts)

    response = await terminate(
        contracts, contract["id"], {"effective_date": effective_date, "credit_unused": True}
    )

    assert response.status_code == status, response.text
    if status == 422:
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == ["effective_date"]
        assert len(await contracts.events(contract["id"])) == 1


async def test_terminating_twice_is_a_conflict_and_emits_nothing(
    contracts: ContractDriver,
) -> None:
    contract = await w13_contract(contracts)
    body = {"effective_date": "2026-09-01", "credit_unused": True}
    assert (await terminate(contracts, contract["id"], body)).status_code == 200

    again = await terminate(contracts, contract["id"], {**body, "effective_date": "2026-08-01"})

    assert again.status_code == 409
    assert again.json()["type"].endswith("/contract-not-active")
    assert again.json()["detail"] == f"contract {contract['id']} is terminated; cannot terminate it"
    assert [e.type for e in await contracts.events(contract["id"])] == [
        "ContractCreated", "ContractTerminated",
    ]  # fmt: skip


async def test_the_same_idempotency_key_terminates_once(contracts: ContractDriver) -> None:
    contract = await w13_contract(contracts)
    body = {"effective_date": "2026-09-01", "credit_unused": True}
    key = {"Idempotency-Key": f"end-{contract['id']}"}

    first = await terminate(contracts, contract["id"], body, **key)
    again = await terminate(contracts, contract["id"], body, **key)
    other = await terminate(contracts, contract["id"], {**body, "credit_unused": False}, **key)

    assert (first.status_code, again.status_code, other.status_code) == (200, 200, 422)
    assert again.json() == first.json()
    assert len(await contracts.events(contract["id"])) == 2


async def test_terminate_refuses_bad_input_readers_and_unknown_contracts(
    contracts: ContractDriver,
) -> None:
    contract = await w13_contract(contracts)
    body = {"effective_date": "2026-09-01", "credit_unused": True}
    for bad, field in (
        ({"effective_date": "2026-09-01"}, "credit_unused"),
        ({**body, "effective_date": "01/09/2026"}, "effective_date"),
        ({**body, "credit_unused": "yes"}, "credit_unused"),
        ({**body, "reason": "churn"}, "reason"),
    ):
        response = await terminate(contracts, contract["id"], bad)
        assert response.status_code == 422, bad
        assert field in [e["field"] for e in response.json()["errors"]]
    path = f"/v1/contracts/{contract['id']}/terminate"
    assert (await contracts.client.post(path, json=body)).status_code == 401
    assert (
        await contracts.client.post(path, json=body, headers=auth("finance"))
    ).status_code == 403
    assert (await terminate(contracts, "ct_nope", body)).status_code == 404
    assert len(await contracts.events(contract["id"])) == 1


async def test_a_subscription_due_to_start_after_t_never_starts(contracts: ContractDriver) -> None:
    contract = await w13_contract(contracts)
    addon = accepted_quote(
        contract["account_id"], [line("ADDON", 4, 900)], kind="amendment",
        contract_id=contract["id"], start_date=date(2026, 10, 1), bill_cycle_day=1,
    )  # fmt: skip
    await contracts.accept(addon)

    response = await terminate(
        contracts, contract["id"], {"effective_date": "2026-09-01", "credit_unused": True}
    )

    added = response.json()["subscriptions"][2]
    assert (added["sku"], added["start_date"], added["end_date"], added["quantity"]) == (
        "ADDON", "2026-10-01", "2026-10-01", 0,
    )  # fmt: skip
    assert added["quantity_changes"] == [{"effective_date": "2026-10-01", "quantity": 0}]
