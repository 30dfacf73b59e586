"""A quote from price book to acceptance, over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from revline_events.clock import FixedClock
from revline_testkit.live import LiveService, auth

SALES = auth("sales")


def line(sku: str, quantity: int, list_price: int, net: int, amount: int, *,
         no: int, discount: str = "0", name: str, charge: str = "recurring",
         period: str | None = "month") -> dict[str, Any]:  # fmt: skip
    """A priced line as the API shows it."""
    return {
        "line_no": no, "sku": sku, "name": name, "charge_type": charge,
        "billing_period": period, "quantity": quantity, "unit_price": list_price,
        "discount_percent": discount, "net_unit_price": net, "amount_per_period": amount,
        "subscription_id": None,
    }  # fmt: skip


async def test_f1_quote_is_priced_and_accepted_once(
    stocked_service: LiveService, f1_quote: dict[str, Any]
) -> None:
    client = stocked_service.client
    created = await client.post("/v1/quotes", json=f1_quote, headers=SALES)
    assert created.status_code == 201, created.text
    quote = created.json()
    assert quote == {
        "id": quote["id"], "account_id": "acme", "currency": "USD", "kind": "new",
        "contract_id": None, "status": "draft", "version": 1, "start_date": "2026-01-15",
        "term_months": 12, "end_date": "2027-01-14", "bill_cycle_day": 1,
        "billing_timing": "advance", "auto_renew": False,
        "lines": [
            line("SEAT", 10, 5000, 4500, 45000, no=1, discount="10", name="Seat"),
            line("SETUP", 1, 25000, 25000, 25000, no=2, name="Setup", charge="one_time",
                 period=None),
        ],
        "totals": {"recurring_per_period": 45000, "one_time": 25000,
                   "total_contract_value": 565000},
        "created_at": "2026-01-10T09:30:00Z", "updated_at": "2026-01-10T09:30:00Z",
        "accepted_on": None,
    }  # fmt: skip
    accepted = await client.post(f"/v1/quotes/{quote['id']}/accept", headers=SALES)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    again = await client.post(f"/v1/quotes/{quote['id']}/accept", headers=SALES)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"


async def test_lines_take_the_list_price_an_override_and_w5_discounts_rounded_per_unit(
    stocked_service: LiveService,
) -> None:
    body = {
        "account_id": "acme", "currency": "USD", "start_date": "2026-01-01", "term_months": 12,
        "lines": [
            {"sku": "SEAT", "quantity": 2},
            {"sku": "SEAT", "quantity": 1, "unit_price": 4000},
            {"sku": "HALF", "quantity": 3, "discount_percent": "50"},
            {"sku": "ODD", "quantity": 1, "discount_percent": "12.5"},
            {"sku": "SETUP", "quantity": 2, "unit_price": 20000, "discount_percent": "25"},
        ],
    }  # fmt: skip
    created = await stocked_service.client.post("/v1/quotes", json=body, headers=SALES)
    assert created.status_code == 201, created.text
    quote = created.json()
    assert quote["lines"] == [
        line("SEAT", 2, 5000, 5000, 10000, no=1, name="Seat"),
        line("SEAT", 1, 4000, 4000, 4000, no=2, name="Seat"),
        line("HALF", 3, 1001, 501, 1503, no=3, discount="50", name="Half-price tie"),
        line("ODD", 1, 1999, 1749, 1749, no=4, discount="12.5", name="Odd discount"),
        line("SETUP", 2, 20000, 15000, 30000, no=5, discount="25", name="Setup",
             charge="one_time", period=None),
    ]  # fmt: skip
    # Twelve whole months from 1 January on BCD 1: 12 x 17252, plus the one-time 30000.
    assert quote["totals"] == {
        "recurring_per_period": 17252, "one_time": 30000, "total_contract_value": 237024,
    }  # fmt: skip
    assert quote["bill_cycle_day"] == 1
    assert quote["end_date"] == "2026-12-31"


async def test_quote_read_back_by_id_equals_the_created_quote(
    stocked_service: LiveService, f1_quote: dict[str, Any]
) -> None:
    client = stocked_service.client
    created = (await client.post("/v1/quotes", json=f1_quote, headers=SALES)).json()
    for role in ("sales", "finance", "ops", "admin"):
        fetched = await client.get(f"/v1/quotes/{created['id']}", headers=auth(role))
        assert fetched.status_code == 200, fetched.text
        assert fetched.json() == created


async def test_unknown_quote_is_a_404_problem(stocked_service: LiveService) -> None:
    response = await stocked_service.client.get("/v1/quotes/qt_nope", headers=SALES)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "https://revline.dev/problems/unknown-quote"


async def test_quotes_list_filters_by_account_and_walks_every_page(
    stocked_service: LiveService, f1_quote: dict[str, Any]
) -> None:
    client = stocked_service.client
    made: dict[str, list[str]] = {"globex": [], "initech": []}
    for account in ["globex"] * 5 + ["initech"] * 2:
        response = await client.post(
            "/v1/quotes", json={**f1_quote, "account_id": account}, headers=SALES
        )
        made[account].append(response.json()["id"])
    pages: list[list[str]] = []
    params: dict[str, str | int] = {"account_id": "globex", "limit": 2}
    while True:
        response = await client.get("/v1/quotes", params=params, headers=auth("finance"))
        assert response.status_code == 200, response.text
        body = response.json()
        assert {q["account_id"] for q in body["data"]} <= {"globex"}
        assert all(len(q["lines"]) == 2 for q in body["data"])
        pages.append([q["id"] for q in body["data"]])
        if body["next_cursor"] is None:
            break
        params = {"account_id": "globex", "limit": 2, "cursor": body["next_cursor"]}
    assert [len(page) for page in pages] == [2, 2, 1]
    walked = [quote_id for page in pages for quote_id in page]
    assert walked == sorted(made["globex"])
    everyone = await client.get("/v1/quotes", params={"limit": 500}, headers=SALES)
    assert sorted(q["id"] for q in everyone.json()["data"]) == sorted(
        made["globex"] + made["initech"]
    )
    nobody = await client.get("/v1/quotes", params={"account_id": "umbrella"}, headers=SALES)
    assert nobody.json() == {"data": [], "next_cursor": None}


async def test_patch_of_a_draft_replaces_its_lines_reprices_and_bumps_the_version(
    stocked_service: LiveService, f1_quote: dict[str, Any], clock: FixedClock
) -> None:
    client = stocked_service.client
    created = (await client.post("/v1/quotes", json=f1_quote, headers=SALES)).json()
    clock.advance(timedelta(hours=2))
    patch = {"term_months": 24, "auto_renew": True, "billing_timing": "arrears",
             "lines": [{"sku": "SEAT", "quantity": 20, "discount_percent": "10"}]}  # fmt: skip
    patched = await client.patch(f"/v1/quotes/{created['id']}", json=patch, headers=SALES)
    assert patched.status_code == 200, patched.text
    quote = patched.json()
    assert quote["version"] == 2
    assert quote["status"] == "draft"
    assert quote["lines"] == [line("SEAT", 20, 5000, 4500, 90000, no=1, discount="10",
                                   name="Seat")]  # fmt: skip
    # 2026-01-15..01-31 17/31 of 90000 = 49355, 23 whole months, 2028-01-01..01-14 14/31 = 40645.
    assert quote["totals"] == {
        "recurring_per_period": 90000, "one_time": 0, "total_contract_value": 2160000,
    }  # fmt: skip
    assert (quote["term_months"], quote["end_date"]) == (24, "2028-01-14")
    assert (quote["auto_renew"], quote["billing_timing"]) == (True, "arrears")
    assert quote["created_at"] == "2026-01-10T09:30:00Z"
    assert quote["updated_at"] == "2026-01-10T11:30:00Z"
    fetched = await client.get(f"/v1/quotes/{created['id']}", headers=SALES)
    assert fetched.json() == quote


async def test_patch_without_lines_keeps_them_and_reprices_the_new_term(
    stocked_service: LiveService, f1_quote: dict[str, Any]
) -> None:
    client = stocked_service.client
    created = (await client.post("/v1/quotes", json=f1_quote, headers=SALES)).json()
    patched = await client.patch(
        f"/v1/quotes/{created['id']}", json={"term_months": 1}, headers=SALES
    )
    assert patched.status_code == 200, patched.text
    quote = patched.json()
    assert quote["lines"] == created["lines"]
    assert quote["version"] == 2
    # 2026-01-15..01-31 17/31 of 45000 = 24677, 2026-02-01..02-14 14/28 = 22500; + 25000.
    assert quote["totals"] == {
        "recurring_per_period": 45000, "one_time": 25000, "total_contract_value": 72177,
    }  # fmt: skip
    assert quote["end_date"] == "2026-02-14"


async def test_presented_quote_is_accepted_on_the_clock_date(
    stocked_service: LiveService, f1_quote: dict[str, Any], clock: FixedClock
) -> None:
    client = stocked_service.client
    created = (await client.post("/v1/quotes", json=f1_quote, headers=SALES)).json()
    clock.advance(timedelta(hours=1))
    presented = await client.post(f"/v1/quotes/{created['id']}/present", headers=SALES)
    assert presented.status_code == 200, presented.text
    assert presented.json() == {
        **created, "status": "presented", "updated_at": "2026-01-10T10:30:00Z",
    }  # fmt: skip
    clock.advance(timedelta(days=1))
    accepted = await client.post(f"/v1/quotes/{created['id']}/accept", headers=SALES)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {
        **created, "status": "accepted", "accepted_on": "2026-01-11",
        "updated_at": "2026-01-11T10:30:00Z",
    }  # fmt: skip
    fetched = await client.get(f"/v1/quotes/{created['id']}", headers=SALES)
    assert fetched.json() == accepted.json()


async def test_rejected_quote_is_final_and_never_accepted(
    stocked_service: LiveService, f1_quote: dict[str, Any]
) -> None:
    client = stocked_service.client
    created = (await client.post("/v1/quotes", json=f1_quote, headers=SALES)).json()
    presented = await client.post(f"/v1/quotes/{created['id']}/present", headers=SALES)
    assert presented.status_code == 200
    rejected = await client.post(f"/v1/quotes/{created['id']}/reject", headers=SALES)
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["accepted_on"] is None
    fetched = await client.get(f"/v1/quotes/{created['id']}", headers=SALES)
    assert fetched.json()["status"] == "rejected"


async def test_draft_is_rejected_without_being_presented(
    stocked_service: LiveService, f1_quote: dict[str, Any]
) -> None:
    client = stocked_service.client
    created = (await client.post("/v1/quotes", json=f1_quote, headers=SALES)).json()
    rejected = await client.post(f"/v1/quotes/{created['id']}/reject", headers=SALES)
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"


async def test_patched_start_date_keeps_a_chosen_bill_cycle_day(
    stocked_service: LiveService, f1_quote: dict[str, Any]
) -> None:
    client = stocked_service.client
    created = (await client.post("/v1/quotes", json=f1_quote, headers=SALES)).json()
    patched = await client.patch(
        f"/v1/quotes/{created['id']}", json={"start_date": "2026-02-10"}, headers=SALES
    )
    assert patched.status_code == 200, patched.text
    quote = patched.json()
    assert (quote["bill_cycle_day"], quote["end_date"]) == (1, "2027-02-09")
    # 2026-02-10..02-28 19/28 of 45000 = 30536, 11 whole months = 495000,
    # 2027-02-01..02-09 9/28 = 14464; plus SETUP 25000.
    assert quote["totals"]["total_contract_value"] == 565000


async def test_patched_start_date_moves_a_defaulted_bill_cycle_day(
    stocked_service: LiveService, f1_quote: dict[str, Any]
) -> None:
    client = stocked_service.client
    body = {k: v for k, v in f1_quote.items() if k != "bill_cycle_day"}
    created = (await client.post("/v1/quotes", json=body, headers=SALES)).json()
    assert created["bill_cycle_day"] == 15
    patched = await client.patch(
        f"/v1/quotes/{created['id']}", json={"start_date": "2026-01-20"}, headers=SALES
    )
    quote = patched.json()
    assert (quote["bill_cycle_day"], quote["end_date"]) == (20, "2027-01-19")
    assert quote["totals"]["total_contract_value"] == 565000  # 12 whole months + SETUP
