"""The price book over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from revline_testkit.live import LiveService, auth

SEAT = {"sku": "SEAT", "name": "Seat", "currency": "USD", "unit_price": 5000,
        "charge_type": "recurring", "billing_period": "month"}  # fmt: skip


async def test_created_product_is_returned_and_read_back_with_a_utc_timestamp(
    quote_service: LiveService,
) -> None:
    client = quote_service.client
    created = await client.post("/v1/products", json=SEAT, headers=auth("sales"))
    assert created.status_code == 201, created.text
    assert created.json() == {**SEAT, "created_at": "2026-01-10T09:30:00Z"}
    fetched = await client.get("/v1/products/SEAT", headers=auth("sales"))
    assert fetched.status_code == 200
    assert fetched.json() == created.json()


async def test_one_time_product_drops_its_billing_period(quote_service: LiveService) -> None:
    setup = {"sku": "SETUP", "name": "Setup", "currency": "USD", "unit_price": 25000,
             "charge_type": "one_time", "billing_period": "year"}  # fmt: skip
    created = await quote_service.client.post("/v1/products", json=setup, headers=auth("admin"))
    assert created.status_code == 201, created.text
    assert created.json()["billing_period"] is None


async def test_products_list_walks_every_page_in_sku_order(quote_service: LiveService) -> None:
    client = quote_service.client
    skus = ["G7", "A1", "E5", "C3", "B2", "F6", "D4"]
    for sku in skus:
        product = {**SEAT, "sku": sku, "name": f"Product {sku}"}
        assert (await client.post("/v1/products", json=product, headers=auth("sales"))).is_success
    pages: list[list[str]] = []
    params: dict[str, str | int] = {"limit": 3}
    while True:
        response = await client.get("/v1/products", params=params, headers=auth("finance"))
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([p["sku"] for p in body["data"]])
        if body["next_cursor"] is None:
            break
        params = {"limit": 3, "cursor": body["next_cursor"]}
    assert pages == [["A1", "B2", "C3"], ["D4", "E5", "F6"], ["G7"]]


async def test_products_list_defaults_to_one_page_of_everything(
    quote_service: LiveService,
) -> None:
    client = quote_service.client
    for sku in ("B", "A"):
        product = {**SEAT, "sku": sku}
        assert (await client.post("/v1/products", json=product, headers=auth("sales"))).is_success
    response = await client.get("/v1/products", headers=auth("ops"))
    assert response.status_code == 200
    assert [p["sku"] for p in response.json()["data"]] == ["A", "B"]
    assert response.json()["next_cursor"] is None


async def test_unknown_product_is_a_404_problem(quote_service: LiveService) -> None:
    response = await quote_service.client.get("/v1/products/NOPE", headers=auth("sales"))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "https://revline.dev/problems/unknown-product",
        "title": "Unknown product",
        "status": 404,
        "detail": "no product NOPE",
    }


async def test_second_product_with_a_taken_sku_is_a_409_and_keeps_the_first(
    quote_service: LiveService,
) -> None:
    client = quote_service.client
    assert (await client.post("/v1/products", json=SEAT, headers=auth("sales"))).is_success
    again = await client.post("/v1/products", json={**SEAT, "unit_price": 1}, headers=auth("sales"))
    assert again.status_code == 409
    assert again.json()["type"] == "https://revline.dev/problems/product-exists"
    fetched = await client.get("/v1/products/SEAT", headers=auth("sales"))
    assert fetched.json()["unit_price"] == 5000
