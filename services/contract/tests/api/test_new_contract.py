"""An accepted new quote becomes a contract with one subscription per line, exactly once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from contract_driver import (
    READER,
    accepted_quote,
    line,
    published_events,
    unique_account,
)
from revline_testkit.live import auth

if TYPE_CHECKING:
    from contract_driver import ContractDriver


def f1_quote(account: str, **terms: Any) -> Any:
    """F1: SEAT x10 at net 4500 a month, SETUP x1 at 25000, 12 months from 2026-01-15, BCD 1."""
    return accepted_quote(
        account,
        [line("SEAT", 10, 4500), line("SETUP", 1, 25000, one_time=True)],
        start_date=date(2026, 1, 15),
        bill_cycle_day=1,
        **terms,
    )


async def test_f1_quote_becomes_a_contract_with_a_subscription_per_line(
    contracts: ContractDriver,
) -> None:
    account = unique_account()
    quote = f1_quote(account, billing_timing="arrears", auto_renew=True)

    contract = await contracts.accept(quote)

    assert contract["id"].startswith("ct_")
    assert {k: contract[k] for k in (
        "account_id", "quote_id", "currency", "status", "start_date", "end_date", "term_start",
        "term_months", "bill_cycle_day", "billing_timing", "auto_renew", "amendments",
        "renewals", "terminated_on", "credit_unused", "version",
    )} == {
        "account_id": account, "quote_id": quote.quote_id, "currency": "USD",
        "status": "active", "start_date": "2026-01-15", "end_date": "2027-01-14",
        "term_start": "2026-01-15", "term_months": 12, "bill_cycle_day": 1,
        "billing_timing": "arrears", "auto_renew": True, "amendments": [], "renewals": [],
        "terminated_on": None, "credit_unused": None, "version": 1,
    }  # fmt: skip
    seat, setup = contract["subscriptions"]
    assert seat["id"].startswith("sub_") and setup["id"].startswith("sub_")
    assert seat["id"] != setup["id"]
    assert {k: v for k, v in seat.items() if k != "id"} == {
        "sku": "SEAT", "name": "Seat", "charge_type": "recurring", "billing_period": "month",
        "quantity": 10, "unit_price": 4500, "start_date": "2026-01-15",
        "end_date": "2027-01-14",
        "quantity_changes": [{"effective_date": "2026-01-15", "quantity": 10}],
    }  # fmt: skip
    assert {k: v for k, v in setup.items() if k != "id"} == {
        "sku": "SETUP", "name": "Setup", "charge_type": "one_time", "billing_period": None,
        "quantity": 1, "unit_price": 25000, "start_date": "2026-01-15",
        "end_date": "2026-01-15",
        "quantity_changes": [{"effective_date": "2026-01-15", "quantity": 1}],
    }  # fmt: skip
    assert await contracts.get(contract["id"]) == contract


async def test_contract_created_is_published_on_contract_events_keyed_by_account(
    contracts: ContractDriver,
) -> None:
    account = unique_account()
    upstream = await contracts.publish(f1_quote(account))
    contract = await contracts.contract_for(upstream.stream_id)

    (created,) = await published_events(
        contracts.bootstrap, {contract["id"]}, lambda events: len(events) >= 1
    )

    assert (created.type, created.stream_version, created.producer) == (
        "ContractCreated", 1, "contract",
    )  # fmt: skip
    assert created.account_id == account
    assert created.causation_id == upstream.event_id
    assert created.correlation_id == upstream.correlation_id
    assert created.effective_date == date(2026, 1, 15)
    payload = created.payload
    assert (payload["start_date"], payload["end_date"], payload["term_months"]) == (
        "2026-01-15", "2027-01-14", 12,
    )  # fmt: skip
    assert [(s["subscription_id"], s["sku"], s["quantity"], s["unit_price"], s["end_date"])
            for s in payload["subscriptions"]] == [
        (sub["id"], sub["sku"], sub["quantity"], sub["unit_price"], sub["end_date"])
        for sub in contract["subscriptions"]
    ]  # fmt: skip


async def test_the_consumer_stamps_what_it_records_with_the_app_clock(
    contracts: ContractDriver,
) -> None:
    contracts.clock.advance(timedelta(days=3, hours=2))  # from 2026-01-10 09:30 UTC
    upstream = await contracts.publish(f1_quote(unique_account()))
    contract = await contracts.contract_for(upstream.stream_id)

    (created,) = await published_events(
        contracts.bootstrap, {contract["id"]}, lambda events: len(events) >= 1
    )

    assert created.occurred_at == datetime(2026, 1, 13, 11, 30, tzinfo=UTC)
    # The contract's id carries the acceptance's time, not the consumer's.
    accepted_ms = int(upstream.occurred_at.timestamp() * 1000)
    assert contract["id"][3:15] == f"{accepted_ms:012x}"


async def test_redelivered_quote_accepted_makes_one_contract(contracts: ContractDriver) -> None:
    account = unique_account()
    envelope = contracts.envelope(f1_quote(account))
    # The same event three times, then the same quote accepted again under a new event id.
    for _ in range(3):
        await contracts.send(envelope.to_bytes(), account)
    await contracts.publish(f1_quote(account, quote_id=envelope.stream_id))
    contracts.clock.advance(timedelta(minutes=1))
    # A later quote of the account lands on the same partition: once it shows, all above did.
    later = await contracts.accept(f1_quote(account))

    listed = await contracts.client.get(
        "/v1/contracts", params={"account_id": account}, headers=READER
    )

    assert [c["quote_id"] for c in listed.json()["data"]] == [envelope.stream_id, later["quote_id"]]
    first = listed.json()["data"][0]
    assert [e.type for e in await contracts.events(first["id"])] == ["ContractCreated"]


async def test_contracts_are_listed_by_account_and_quote_a_page_at_a_time(
    contracts: ContractDriver,
) -> None:
    account = unique_account()
    quotes = [f1_quote(account) for _ in range(3)]
    for quote in quotes:
        contracts.clock.advance(timedelta(minutes=1))  # ids sort by acceptance time
        await contracts.publish(quote)
    await contracts.contract_for(quotes[-1].quote_id)

    first = await contracts.client.get(
        "/v1/contracts", params={"account_id": account, "limit": 2}, headers=READER
    )
    second = await contracts.client.get(
        "/v1/contracts",
        params={"account_id": account, "limit": 2, "cursor": first.json()["next_cursor"]},
        headers=READER,
    )
    by_quote = await contracts.client.get(
        "/v1/contracts", params={"quote_id": quotes[1].quote_id}, headers=READER
    )

    pages = [c["quote_id"] for c in first.json()["data"] + second.json()["data"]]
    assert pages == [q.quote_id for q in quotes]
    assert second.json()["next_cursor"] is None
    assert [c["quote_id"] for c in by_quote.json()["data"]] == [quotes[1].quote_id]


async def test_reading_contracts_needs_a_reader_key(contracts: ContractDriver) -> None:
    client = contracts.client
    assert (await client.get("/v1/contracts")).status_code == 401
    for role in ("sales", "finance", "ops", "admin"):
        assert (await client.get("/v1/contracts", headers=auth(role))).status_code == 200
    unknown = await client.get("/v1/contracts/ct_nope", headers=READER)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json()["type"].endswith("/unknown-contract")
    bad_cursor = await client.get("/v1/contracts", params={"cursor": "nope"}, headers=READER)
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["errors"][0]["field"] == "cursor"
