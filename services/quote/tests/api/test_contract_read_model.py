"""Amendment and renewal quotes are checked against the contracts heard on contract.events."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
from revline_events.clock import FixedClock
from revline_events.payloads.contract import (
    ContractCreated,
    ContractTerminated,
    SubscriptionData,
)
from revline_testkit.broker import TansuBroker
from revline_testkit.live import LiveService, auth
from revline_testkit.publishing import publish, upstream_event
from revline_testkit.waiting import eventually

SALES = auth("sales")
CLOCK = FixedClock(datetime(2026, 1, 15, tzinfo=UTC))


def _contract(account: str, contract_id: str) -> ContractCreated:
    """F1's contract: 2026-01-15..2027-01-14, BCD 1, SEAT x10 at net 4500."""
    seat = SubscriptionData(
        subscription_id=f"{contract_id}-seat", sku="SEAT", name="Seat", charge_type="recurring",
        billing_period="month", quantity=10, unit_price=4500,
        start_date=date(2026, 1, 15), end_date=date(2027, 1, 14),
    )  # fmt: skip
    return ContractCreated(
        contract_id=contract_id, account_id=account, quote_id="qt_x", currency="USD",
        start_date=date(2026, 1, 15), end_date=date(2027, 1, 14), term_months=12,
        bill_cycle_day=1, billing_timing="advance", auto_renew=False, subscriptions=[seat],
    )  # fmt: skip


async def _known_contract(service: LiveService, bootstrap: str) -> tuple[str, str]:
    """Publish a new contract for a new account; return (account, contract id) once known."""
    account, contract_id = f"acct-{uuid.uuid4().hex[:8]}", f"ct_{uuid.uuid4().hex[:10]}"
    created = _contract(account, contract_id)
    envelope = upstream_event(
        created, stream_id=contract_id, stream_version=1, account_id=account,
        producer="contract", clock=CLOCK,
    )  # fmt: skip
    await publish(bootstrap, "contract.events", [envelope])

    async def known() -> bool:
        response = await _post(service, _amendment(account, contract_id, "2026-02-16"))
        return response.status_code == 201

    await eventually(known, within=30, what=f"the quote service to know {contract_id}")
    return account, contract_id


def _amendment(account: str, contract_id: str, effective: str, **extra: Any) -> dict[str, Any]:
    body = {
        "account_id": account, "currency": "USD", "kind": "amendment",
        "contract_id": contract_id, "start_date": effective,
        "lines": [{"sku": "SEAT", "quantity": 12, "subscription_id": f"{contract_id}-seat"}],
    }  # fmt: skip
    body.update(extra)
    return body


async def _post(service: LiveService, body: dict[str, Any]) -> httpx.Response:
    return await service.client.post("/v1/quotes", json=body, headers=SALES)


def _field(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/problem+json", response.text
    field: str = response.json()["errors"][0]["field"]
    return field


async def test_amendment_keeps_the_subscription_price_and_runs_to_the_contract_end(
    stocked_service: LiveService, tansu: TansuBroker
) -> None:
    account, contract_id = await _known_contract(stocked_service, tansu.bootstrap)
    body = _amendment(account, contract_id, "2026-02-16")
    body["lines"][0].update(unit_price=9999, discount_percent="50")  # ignored: price stays
    response = await _post(stocked_service, body)
    assert response.status_code == 201, response.text
    quote = response.json()
    assert (quote["bill_cycle_day"], quote["billing_timing"]) == (1, "advance")
    line = quote["lines"][0]
    assert (line["net_unit_price"], line["amount_per_period"]) == (4500, 54000)
    # 54000 a month from 2026-02-16 to 2027-01-14: 02-16..02-28 13/28 = 25071,
    # 2026-03..2026-12 ten whole months = 540000, 2027-01-01..01-14 14/31 = 24387.
    assert quote["totals"] == {
        "recurring_per_period": 54000, "one_time": 0, "total_contract_value": 589458,
    }  # fmt: skip


async def test_amendment_of_an_unknown_contract_is_refused_naming_contract_id(
    stocked_service: LiveService,
) -> None:
    response = await _post(stocked_service, _amendment("acme", "ct_nobody", "2026-02-16"))
    assert (response.status_code, _field(response)) == (422, "contract_id")


async def test_amendment_that_does_not_fit_the_contract_is_refused_naming_the_field(
    stocked_service: LiveService, tansu: TansuBroker
) -> None:
    account, contract_id = await _known_contract(stocked_service, tansu.bootstrap)
    other_account = await _post(stocked_service, _amendment("acme", contract_id, "2026-02-16"))
    assert (other_account.status_code, _field(other_account)) == (422, "contract_id")
    outside = await _post(stocked_service, _amendment(account, contract_id, "2027-01-15"))
    assert (outside.status_code, _field(outside)) == (422, "start_date")
    before = await _post(stocked_service, _amendment(account, contract_id, "2026-01-14"))
    assert (before.status_code, _field(before)) == (422, "start_date")
    euro = _amendment(account, contract_id, "2026-02-16", currency="EUR")
    euro["lines"] = [{"sku": "EUROSEAT", "quantity": 1}]
    mismatch = await _post(stocked_service, euro)
    assert (mismatch.status_code, _field(mismatch)) == (422, "currency")
    foreign = _amendment(account, contract_id, "2026-02-16")
    foreign["lines"][0]["subscription_id"] = "sub_of_another_contract"
    not_ours = await _post(stocked_service, foreign)
    assert (not_ours.status_code, _field(not_ours)) == (422, "lines[0].subscription_id")
    wrong_sku = _amendment(account, contract_id, "2026-02-16")
    wrong_sku["lines"][0]["sku"] = "HALF"
    mislabelled = await _post(stocked_service, wrong_sku)
    assert (mislabelled.status_code, _field(mislabelled)) == (422, "lines[0].sku")


async def test_renewal_starts_the_day_after_the_contract_ends(
    stocked_service: LiveService, tansu: TansuBroker
) -> None:
    account, contract_id = await _known_contract(stocked_service, tansu.bootstrap)
    renewal = {
        "account_id": account, "currency": "USD", "kind": "renewal", "contract_id": contract_id,
        "start_date": "2027-01-15", "term_months": 12,
        "lines": [{"sku": "SEAT", "quantity": 10, "subscription_id": f"{contract_id}-seat"}],
    }  # fmt: skip
    renewal["lines"][0].pop("subscription_id")  # renewal lines name no subscription
    created = await _post(stocked_service, renewal)
    assert created.status_code == 201, created.text
    assert created.json()["end_date"] == "2028-01-14"
    late = await _post(stocked_service, {**renewal, "start_date": "2027-02-01"})
    assert (late.status_code, _field(late)) == (422, "start_date")


async def test_a_terminated_contract_can_no_longer_be_amended(
    stocked_service: LiveService, tansu: TansuBroker
) -> None:
    account, contract_id = await _known_contract(stocked_service, tansu.bootstrap)
    terminated = ContractTerminated(
        contract_id=contract_id, account_id=account, effective_date=date(2026, 6, 1),
        end_date=date(2026, 5, 31), credit_unused=False,
    )  # fmt: skip
    envelope = upstream_event(
        terminated, stream_id=contract_id, stream_version=2, account_id=account,
        producer="contract", clock=CLOCK,
    )  # fmt: skip
    await publish(tansu.bootstrap, "contract.events", [envelope])

    async def refused() -> bool:
        response = await _post(stocked_service, _amendment(account, contract_id, "2026-03-01"))
        return response.status_code == 409

    await eventually(refused, within=30, what="amendments of a terminated contract refused")


async def test_a_contract_announced_again_is_taken_as_known_and_consumption_goes_on(
    stocked_service: LiveService, tansu: TansuBroker
) -> None:
    account, contract_id = await _known_contract(stocked_service, tansu.bootstrap)
    again = upstream_event(
        _contract(account, contract_id), stream_id=contract_id, stream_version=1,
        account_id=account, producer="contract", clock=CLOCK,
    )  # fmt: skip
    terminated = upstream_event(
        ContractTerminated(
            contract_id=contract_id, account_id=account, effective_date=date(2026, 6, 1),
            end_date=date(2026, 5, 31), credit_unused=False,
        ),
        stream_id=contract_id, stream_version=2, account_id=account, producer="contract",
        clock=CLOCK,
    )  # fmt: skip
    await publish(tansu.bootstrap, "contract.events", [again, terminated])

    async def refused() -> bool:
        response = await _post(stocked_service, _amendment(account, contract_id, "2026-03-01"))
        return response.status_code == 409

    await eventually(refused, within=30, what="the termination after the repeated creation")
