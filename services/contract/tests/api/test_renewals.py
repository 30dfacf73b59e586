"""Renewals: by an accepted renewal quote, by request, and by a renewal run as of a date."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from contract_driver import READER, accepted_quote, dead_letter, line, unique_account
from revline_testkit.live import auth

if TYPE_CHECKING:
    from contract_driver import ContractDriver

SALES = auth("sales")
OPS = auth("ops")


def w15_quote(account: str, **terms: Any) -> Any:
    """W15: quarterly 30000 x1 from 2026-03-15 for 12 months, BCD 1, and a one-time fee."""
    lines = [line("PLAN", 1, 30000, billing_period="quarter"), line("SETUP", 1, 500, one_time=True)]
    return accepted_quote(account, lines, start_date=date(2026, 3, 15), bill_cycle_day=1, **terms)


def renewal_quote(contract: dict[str, Any], start: date, term_months: int, **terms: Any) -> Any:
    """An accepted renewal quote of `contract` (its lines are not used)."""
    return accepted_quote(
        contract["account_id"], [line("PLAN", 1, 30000, billing_period="quarter")],
        kind="renewal", contract_id=contract["id"], start_date=start,
        term_months=term_months, bill_cycle_day=1, **terms,
    )  # fmt: skip


async def test_w15_renewal_quote_adds_a_term_from_the_day_after_the_end(
    contracts: ContractDriver,
) -> None:
    contract = await contracts.accept(w15_quote(unique_account()))
    assert contract["end_date"] == "2027-03-14"
    quote = renewal_quote(contract, date(2027, 3, 15), 12)

    renewed = await contracts.accept(quote)

    assert (renewed["start_date"], renewed["end_date"]) == ("2026-03-15", "2028-03-14")
    assert (renewed["term_start"], renewed["term_months"], renewed["bill_cycle_day"]) == (
        "2027-03-15", 12, 1,
    )  # fmt: skip
    assert renewed["renewals"] == [{"quote_id": quote.quote_id, "term_start": "2027-03-15",
                                    "term_end": "2028-03-14", "term_months": 12}]  # fmt: skip
    plan, setup = renewed["subscriptions"]
    assert (plan["start_date"], plan["end_date"], plan["quantity"], plan["unit_price"]) == (
        "2026-03-15", "2028-03-14", 1, 30000,
    )  # fmt: skip
    assert setup["end_date"] == "2026-03-15"  # a one-time charge does not renew
    event = (await contracts.events(contract["id"]))[-1]
    assert (event.type, event.effective_date) == ("ContractRenewed", date(2027, 3, 15))
    assert {k: event.payload[k] for k in ("quote_id", "term_start", "term_end", "term_months",
                                          "previous_end_date")} == {
        "quote_id": quote.quote_id, "term_start": "2027-03-15", "term_end": "2028-03-14",
        "term_months": 12, "previous_end_date": "2027-03-14",
    }  # fmt: skip
    (sub,) = event.payload["subscriptions"]
    assert (sub["subscription_id"], sub["start_date"], sub["end_date"], sub["quantity"]) == (
        plan["id"], "2027-03-15", "2028-03-14", 1,
    )  # fmt: skip


async def test_a_renewal_quote_that_does_not_start_after_the_end_is_dead_lettered(
    contracts: ContractDriver,
) -> None:
    contract = await contracts.accept(w15_quote(unique_account()))
    envelope = await contracts.publish(renewal_quote(contract, date(2027, 4, 1), 12))
    await contracts.accept(w15_quote(contract["account_id"]))

    headers = await dead_letter(contracts.bootstrap, envelope.event_id.encode())

    assert headers["error"].startswith("EffectiveDateOutsideTerm: start_date: a renewal of")
    assert (await contracts.get(contract["id"]))["end_date"] == "2027-03-14"


async def test_renew_now_adds_the_current_term_or_the_months_asked_for(
    contracts: ContractDriver,
) -> None:
    contract = await contracts.accept(w15_quote(unique_account()))
    path = f"/v1/contracts/{contract['id']}/renew"

    first = await contracts.client.post(path, headers=SALES)
    second = await contracts.client.post(path, json={"term_months": 6}, headers=OPS)

    assert first.status_code == 200, first.text
    assert (first.json()["term_start"], first.json()["end_date"]) == ("2027-03-15", "2028-03-14")
    assert second.status_code == 200, second.text
    assert (second.json()["term_start"], second.json()["end_date"]) == ("2028-03-15", "2028-09-14")
    assert [(r["quote_id"], r["term_months"]) for r in second.json()["renewals"]] == [
        (None, 12), (None, 6),
    ]  # fmt: skip
    assert second.json()["subscriptions"][0]["end_date"] == "2028-09-14"
    assert [e.type for e in await contracts.events(contract["id"])] == [
        "ContractCreated", "ContractRenewed", "ContractRenewed",
    ]  # fmt: skip


async def test_renew_with_the_same_idempotency_key_renews_once(contracts: ContractDriver) -> None:
    contract = await contracts.accept(w15_quote(unique_account()))
    path = f"/v1/contracts/{contract['id']}/renew"
    key = {**SALES, "Idempotency-Key": f"renew-{contract['id']}"}

    first = await contracts.client.post(path, json={"term_months": 12}, headers=key)
    again = await contracts.client.post(path, json={"term_months": 12}, headers=key)
    other_body = await contracts.client.post(path, json={"term_months": 24}, headers=key)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other_body.status_code == 422
    assert len(await contracts.events(contract["id"])) == 2


async def test_renew_is_refused_to_readers_and_for_contracts_that_ended(
    contracts: ContractDriver,
) -> None:
    contract = await contracts.accept(w15_quote(unique_account()))
    path = f"/v1/contracts/{contract['id']}/renew"
    assert (await contracts.client.post(path, headers=auth("finance"))).status_code == 403
    assert (
        await contracts.client.post("/v1/contracts/ct_nope/renew", headers=SALES)
    ).status_code == 404
    bad = await contracts.client.post(path, json={"term_months": 0}, headers=SALES)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "term_months"
    ended = await contracts.client.post(
        f"/v1/contracts/{contract['id']}/terminate",
        json={"effective_date": "2026-06-01", "credit_unused": False}, headers=SALES,
    )  # fmt: skip
    assert ended.status_code == 200

    refused = await contracts.client.post(path, headers=SALES)

    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/contract-not-active")
    assert len(await contracts.events(contract["id"])) == 2


async def _renewal_run(contracts: ContractDriver, as_of: str) -> dict[str, Any]:
    response = await contracts.client.post("/v1/renewal-runs", json={"as_of": as_of}, headers=OPS)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_renewal_run_renews_auto_renewing_contracts_and_expires_the_others(
    contracts: ContractDriver,
) -> None:
    account = unique_account()
    seat = [line("SEAT", 3, 1000)]
    monthly = await contracts.accept(accepted_quote(
        account, seat, start_date=date(2026, 1, 1), term_months=1, auto_renew=True))  # fmt: skip
    ended = await contracts.accept(accepted_quote(account, seat, start_date=date(2025, 1, 1)))
    last_day = await contracts.accept(accepted_quote(account, seat, start_date=date(2025, 4, 16)))
    later = await contracts.accept(accepted_quote(
        account, seat, start_date=date(2026, 4, 1), auto_renew=True))  # fmt: skip
    assert (monthly["end_date"], ended["end_date"], last_day["end_date"], later["end_date"]) == (
        "2026-01-31", "2025-12-31", "2026-04-15", "2027-03-31",
    )  # fmt: skip

    run = await _renewal_run(contracts, "2026-04-15")

    assert run["id"].startswith("rr_") and run["as_of"] == "2026-04-15"
    assert monthly["id"] in run["renewed"] and ended["id"] in run["expired"]
    mine = {monthly["id"], ended["id"], last_day["id"], later["id"]}
    assert mine & set(run["renewed"]) == {monthly["id"]}
    assert mine & set(run["expired"]) == {ended["id"]}  # not the one on its last day
    renewed = await contracts.get(monthly["id"])
    assert (renewed["status"], renewed["term_start"], renewed["end_date"]) == (
        "active", "2026-04-01", "2026-04-30",
    )  # fmt: skip
    assert [(r["quote_id"], r["term_start"], r["term_end"]) for r in renewed["renewals"]] == [
        (None, "2026-02-01", "2026-02-28"),
        (None, "2026-03-01", "2026-03-31"),
        (None, "2026-04-01", "2026-04-30"),
    ]
    assert renewed["subscriptions"][0]["end_date"] == "2026-04-30"
    assert (await contracts.get(ended["id"]))["status"] == "expired"
    assert (await contracts.get(last_day["id"]))["status"] == "active"
    assert (await contracts.get(later["id"]))["end_date"] == "2027-03-31"
    expired_event = (await contracts.events(ended["id"]))[-1]
    assert (expired_event.type, expired_event.payload["end_date"]) == (
        "ContractExpired",
        "2025-12-31",
    )
    recorded = await contracts.client.get(f"/v1/renewal-runs/{run['id']}", headers=READER)
    assert recorded.json() == run


async def test_a_second_run_as_of_the_same_date_changes_nothing(contracts: ContractDriver) -> None:
    account = unique_account()
    seat = [line("SEAT", 3, 1000)]
    monthly = await contracts.accept(accepted_quote(
        account, seat, start_date=date(2026, 1, 1), term_months=1, auto_renew=True))  # fmt: skip
    ended = await contracts.accept(accepted_quote(account, seat, start_date=date(2025, 1, 1)))
    await _renewal_run(contracts, "2026-05-20")
    store = contracts.service.runtime.spec.kernel.event_store
    before = {c["id"]: await contracts.events(c["id"]) for c in (monthly, ended)}
    async with contracts.service.runtime.db.session() as session:
        count_before = len((await session.execute(store.select())).all())

    rerun = await _renewal_run(contracts, "2026-05-20")

    assert (rerun["renewed"], rerun["expired"]) == ([], [])
    assert {c["id"]: await contracts.events(c["id"]) for c in (monthly, ended)} == before
    async with contracts.service.runtime.db.session() as session:
        rows = (await session.execute(store.select().order_by(store.c.position))).mappings().all()
    assert len(rows) == count_before + 1  # only the run's own record
    assert (rows[-1]["type"], rows[-1]["stream_id"]) == ("RenewalRunCompleted", rerun["id"])


async def test_an_expired_contract_can_no_longer_change(contracts: ContractDriver) -> None:
    account = unique_account()
    contract = await contracts.accept(accepted_quote(
        account, [line("SEAT", 3, 1000)], start_date=date(2024, 1, 1)))  # fmt: skip
    run = await _renewal_run(contracts, "2025-01-01")
    assert contract["id"] in run["expired"]
    path = f"/v1/contracts/{contract['id']}"

    renew = await contracts.client.post(f"{path}/renew", headers=SALES)
    terminate = await contracts.client.post(
        f"{path}/terminate", json={"effective_date": "2024-06-01", "credit_unused": True},
        headers=SALES,
    )  # fmt: skip
    envelope = await contracts.publish(renewal_quote(contract, date(2025, 1, 1), 12))
    await contracts.accept(
        accepted_quote(account, [line("SEAT", 1, 1)], start_date=date(2026, 1, 1))
    )

    assert (renew.status_code, terminate.status_code) == (409, 409)
    assert "is expired" in renew.json()["detail"]
    headers = await dead_letter(contracts.bootstrap, envelope.event_id.encode())
    assert headers["error"].startswith("ContractNotActive")
    assert [e.type for e in await contracts.events(contract["id"])] == [
        "ContractCreated", "ContractExpired",
    ]  # fmt: skip


async def test_renewal_runs_are_for_ops(contracts: ContractDriver) -> None:
    body = {"as_of": "2026-01-01"}
    for role, status in (("sales", 403), ("finance", 403)):
        response = await contracts.client.post("/v1/renewal-runs", json=body, headers=auth(role))
        assert response.status_code == status
    assert (await contracts.client.post("/v1/renewal-runs", json=body)).status_code == 401
    bad = await contracts.client.post("/v1/renewal-runs", json={"as_of": "2026-13-01"}, headers=OPS)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "as_of"
    missing = await contracts.client.get("/v1/renewal-runs/rr_nope", headers=READER)
    assert missing.status_code == 404


async def test_a_run_a_year_ahead_renews_term_after_term_each_on_its_own_date(
    contracts: ContractDriver,
) -> None:
    """A year of monthly terms in one run: appended at once, each renewal effective on its
    term's first day. (Kept to twelve: every renewal stays on the worker's contract.events,
    which the order and billing modules read after this one.)"""
    account = unique_account()
    monthly = await contracts.accept(accepted_quote(
        account, [line("SEAT", 3, 1000)], start_date=date(2026, 1, 1), term_months=1,
        auto_renew=True))  # fmt: skip

    run = await _renewal_run(contracts, "2026-12-31")

    assert monthly["id"] in run["renewed"]
    renewed = await contracts.get(monthly["id"])
    assert (renewed["term_start"], renewed["end_date"]) == ("2027-01-01", "2027-01-31")
    events = [e for e in await contracts.events(monthly["id"]) if e.type == "ContractRenewed"]
    assert len(events) == 12
    assert [e.stream_version for e in events] == list(range(2, 14))
    assert all(e.effective_date.isoformat() == e.payload["term_start"] for e in events)


async def test_a_run_years_too_far_ahead_is_refused_naming_as_of_and_renews_nothing(
    contracts: ContractDriver,
) -> None:
    """Schemathesis sent as_of 2776 once: centuries of monthly terms for every
    auto-renewing contract, 18 s in one request, and each term flowing on to orders
    and billing. More than 120 terms for one contract is a 422 now."""
    account = unique_account()
    monthly = await contracts.accept(accepted_quote(
        account, [line("SEAT", 3, 1000)], start_date=date(2026, 1, 1), term_months=1,
        auto_renew=True))  # fmt: skip
    before = await contracts.events(monthly["id"])

    refused = await contracts.client.post(
        "/v1/renewal-runs", json={"as_of": "2776-03-21"}, headers=OPS
    )

    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    [error] = refused.json()["errors"]
    assert error["field"] == "as_of" and "at most 120 terms" in error["message"]
    assert await contracts.events(monthly["id"]) == before
