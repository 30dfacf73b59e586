"""Accepted amendment quotes change quantities from E, add and remove subscriptions;
quotes that do not fit their contract are dead-lettered and change nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pytest
from contract_driver import (
    accepted_quote,
    dead_letter,
    line,
    unique_account,
)
from revline_testkit.live import auth

if TYPE_CHECKING:
    from contract_driver import ContractDriver


async def seats_contract(contracts: ContractDriver, account: str, **terms: Any) -> dict[str, Any]:
    """W9/W10: SEAT x10 at 5000 a month, 2026-01-01..2026-12-31, BCD 1, advance."""
    quote = accepted_quote(
        account, [line("SEAT", 10, 5000), *terms.pop("lines", [])],
        start_date=date(2026, 1, 1), bill_cycle_day=1, **terms,
    )  # fmt: skip
    return await contracts.accept(quote)


def amendment(
    contract: dict[str, Any], effective: date, lines: list[dict[str, Any]], **overrides: Any
) -> Any:
    """An accepted amendment quote of `contract`, effective `effective`."""
    account = overrides.pop("account_id", contract["account_id"])
    terms = {"kind": "amendment", "contract_id": contract["id"], "start_date": effective,
             "bill_cycle_day": 1, **overrides}  # fmt: skip
    return accepted_quote(account, lines, **terms)


def set_quantity(subscription: dict[str, Any], quantity: int) -> dict[str, Any]:
    """An amendment line that sets an existing subscription's quantity (price ignored)."""
    return line(subscription["sku"], quantity, 1, subscription_id=subscription["id"])


def on(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


async def test_w9_upgrade_from_e_shows_today_s_quantity_and_the_history(
    contracts: ContractDriver,
) -> None:
    contract = await seats_contract(contracts, unique_account())
    (seats,) = contract["subscriptions"]
    quote = amendment(contract, date(2026, 3, 11), [set_quantity(seats, 15)])

    amended = await contracts.accept(quote)

    (after,) = amended["subscriptions"]
    assert after["quantity"] == 10  # the clock says 2026-01-10: the change is in the future
    assert after["unit_price"] == 5000
    assert after["quantity_changes"] == [
        {"effective_date": "2026-01-01", "quantity": 10},
        {"effective_date": "2026-03-11", "quantity": 15},
    ]
    assert amended["amendments"] == [{"quote_id": quote.quote_id, "effective_date": "2026-03-11"}]
    contracts.clock.set(on(date(2026, 3, 10)))
    assert (await contracts.get(contract["id"]))["subscriptions"][0]["quantity"] == 10
    contracts.clock.set(on(date(2026, 3, 11)))
    assert (await contracts.get(contract["id"]))["subscriptions"][0]["quantity"] == 15
    _created, changed = await contracts.events(contract["id"])
    assert (changed.type, changed.stream_version, changed.effective_date) == (
        "ContractAmended", 2, date(2026, 3, 11),
    )  # fmt: skip
    (change,) = changed.payload["changes"]
    assert (change["quantity_before"], change["quantity_after"]) == (10, 15)
    assert change["subscription"] == {
        "subscription_id": seats["id"], "sku": "SEAT", "name": "Seat",
        "charge_type": "recurring", "billing_period": "month", "quantity": 15,
        "unit_price": 5000, "start_date": "2026-01-01", "end_date": "2026-12-31",
    }  # fmt: skip


async def test_w10_downgrade_from_e(contracts: ContractDriver) -> None:
    contract = await seats_contract(contracts, unique_account())
    (seats,) = contract["subscriptions"]

    amended = await contracts.accept(
        amendment(contract, date(2026, 3, 20), [set_quantity(seats, 7)])
    )

    contracts.clock.set(on(date(2026, 4, 1)))
    (after,) = (await contracts.get(amended["id"]))["subscriptions"]
    assert after["quantity"] == 7
    assert [c["quantity"] for c in after["quantity_changes"]] == [10, 7]
    change = (await contracts.events(contract["id"]))[-1].payload["changes"][0]
    assert (change["quantity_before"], change["quantity_after"]) == (10, 7)


async def test_w12_an_added_product_is_co_terminated_at_the_line_s_net_price(
    contracts: ContractDriver,
) -> None:
    contract = await seats_contract(contracts, unique_account())
    add = line("ADD", 1, 9000, billing_period="quarter", name="Add-on")

    amended = await contracts.accept(amendment(contract, date(2026, 5, 20), [add]))

    seats, added = amended["subscriptions"]
    assert seats == contract["subscriptions"][0]
    assert added["id"].startswith("sub_") and added["id"] != seats["id"]
    assert {k: v for k, v in added.items() if k != "id"} == {
        "sku": "ADD", "name": "Add-on", "charge_type": "recurring", "billing_period": "quarter",
        "quantity": 1, "unit_price": 9000, "start_date": "2026-05-20",
        "end_date": "2026-12-31",
        "quantity_changes": [{"effective_date": "2026-05-20", "quantity": 1}],
    }  # fmt: skip
    change = (await contracts.events(contract["id"]))[-1].payload["changes"][0]
    assert (change["quantity_before"], change["quantity_after"]) == (0, 1)
    assert change["subscription"]["subscription_id"] == added["id"]


async def test_quantity_zero_removes_a_product_from_e(contracts: ContractDriver) -> None:
    support = line("SUPPORT", 1, 2000)
    contract = await seats_contract(contracts, unique_account(), lines=[support])
    _seats, support_sub = contract["subscriptions"]

    await contracts.accept(amendment(contract, date(2026, 7, 1), [set_quantity(support_sub, 0)]))

    contracts.clock.set(on(date(2026, 8, 1)))
    seats_after, removed = (await contracts.get(contract["id"]))["subscriptions"]
    assert seats_after["quantity"] == 10
    assert removed["quantity"] == 0
    assert removed["end_date"] == "2026-12-31"  # removal changes the quantity only
    assert removed["quantity_changes"] == [
        {"effective_date": "2026-01-01", "quantity": 1},
        {"effective_date": "2026-07-01", "quantity": 0},
    ]


async def test_amendments_are_listed_in_the_order_they_took_effect(
    contracts: ContractDriver,
) -> None:
    contract = await seats_contract(contracts, unique_account())
    (seats,) = contract["subscriptions"]
    first = amendment(contract, date(2026, 2, 1), [set_quantity(seats, 12)])
    second = amendment(contract, date(2026, 6, 1), [set_quantity(seats, 20)])
    await contracts.publish(first)

    amended = await contracts.accept(second)

    assert amended["amendments"] == [
        {"quote_id": first.quote_id, "effective_date": "2026-02-01"},
        {"quote_id": second.quote_id, "effective_date": "2026-06-01"},
    ]
    changes = (await contracts.events(contract["id"]))[-1].payload["changes"]
    assert [(c["quantity_before"], c["quantity_after"]) for c in changes] == [(12, 20)]


async def _misfit(contracts: ContractDriver, case: str) -> tuple[Any, dict[str, Any]]:
    """A contract, and an accepted amendment quote that does not fit it in one way."""
    account = unique_account()
    contract = await seats_contract(contracts, account)
    (seats,) = contract["subscriptions"]
    ok = [set_quantity(seats, 12)]
    if case == "unknown contract":
        return amendment({**contract, "id": "ct_missing"}, date(2026, 3, 1), ok), contract
    if case == "other account":
        return amendment(contract, date(2026, 3, 1), ok, account_id=unique_account()), contract
    if case == "other currency":
        return amendment(contract, date(2026, 3, 1), ok, currency="EUR"), contract
    if case == "subscription of another contract":
        other = await seats_contract(contracts, account)
        return amendment(
            contract, date(2026, 3, 1), [set_quantity(other["subscriptions"][0], 12)]
        ), contract
    if case == "effective date after the end":
        return amendment(contract, date(2027, 1, 1), ok), contract
    if case == "effective date before the start":
        return amendment(contract, date(2025, 12, 31), ok), contract
    assert case == "terminated contract"
    ended = await contracts.client.post(
        f"/v1/contracts/{contract['id']}/terminate",
        json={"effective_date": "2026-02-01", "credit_unused": False}, headers=auth("sales"),
    )  # fmt: skip
    assert ended.status_code == 200, ended.text
    return amendment(contract, date(2026, 1, 15), ok), contract


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("unknown contract", "UnknownContract: no contract ct_missing"),
        ("other account", "AccountMismatch"),
        ("other currency", "CurrencyMismatch: contract ct_"),
        ("subscription of another contract", "UnknownSubscription"),
        (
            "effective date after the end",
            "EffectiveDateOutsideTerm: start_date: effective date 2027-01-01",
        ),
        ("effective date before the start", "EffectiveDateOutsideTerm"),
        ("terminated contract", "ContractNotActive"),
    ],
)
async def test_an_amendment_that_does_not_fit_is_dead_lettered_and_changes_nothing(
    contracts: ContractDriver, case: str, reason: str
) -> None:
    quote, contract = await _misfit(contracts, case)
    before = await contracts.events(contract["id"])
    envelope = await contracts.publish(quote)
    # The consumer moves on: a later quote of the same account still becomes a contract.
    await contracts.accept(accepted_quote(quote.account_id, [line("SEAT", 1, 100)],
                                          start_date=date(2026, 1, 1)))  # fmt: skip

    headers = await dead_letter(contracts.bootstrap, envelope.event_id.encode())

    assert headers["error"].startswith(reason), headers["error"]
    assert headers["source_topic"] == "quote.events"
    assert headers["consumer"] == "contract"
    assert await contracts.events(contract["id"]) == before
    listed = await contracts.client.get(
        "/v1/contracts", params={"quote_id": quote.quote_id}, headers=auth("finance")
    )
    assert listed.json()["data"] == []
