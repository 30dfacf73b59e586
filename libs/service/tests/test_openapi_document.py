"""The chassis' OpenAPI document and error answers: problems declared from what a route has,
405 with `Allow`, 415 for a body that is not JSON. A small app served over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel
from revline_service.auth import KeyRing, Principal, Role, require
from revline_service.openapi import install_openapi
from revline_service.problems import PROBLEM_JSON, install_problem_handlers
from revline_testkit.live import LiveService, serve_in_process

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
Seller = Annotated[Principal, Depends(require(Role.SALES))]


class ThingIn(BaseModel):
    """A body."""

    name: str


def _app() -> FastAPI:
    app = FastAPI()
    app.state.keyring = KeyRing({"k-sales": Role.SALES})
    install_problem_handlers(app, {})
    router = APIRouter()

    @router.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @router.get("/things")
    async def list_things(_: Seller) -> list[str]:
        return []

    @router.post("/things", status_code=201)
    async def create_thing(body: ThingIn, _: Seller) -> dict[str, str]:
        return {"name": body.name}

    @router.get("/things/{thing_id}")
    async def get_thing(thing_id: str, _: Seller) -> dict[str, str]:
        return {"id": thing_id}

    app.include_router(router)
    install_openapi(app)
    return app


@pytest.fixture(scope="module")
async def service() -> AsyncIterator[LiveService]:
    async with serve_in_process(_app()) as live:
        yield live


async def _document(service: LiveService) -> dict[str, Any]:
    response = await service.client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _problem_statuses(operation: dict[str, Any]) -> set[int]:
    return {
        int(status)
        for status, answer in operation["responses"].items()
        if answer.get("content", {}).get(PROBLEM_JSON, {}).get("schema") == PROBLEM_REF
    }


async def test_each_operation_declares_the_problems_its_route_can_answer(
    service: LiveService,
) -> None:
    paths = (await _document(service))["paths"]
    assert _problem_statuses(paths["/things"]["get"]) == {401, 403, 503}
    assert _problem_statuses(paths["/things"]["post"]) == {
        400,
        401,
        403,
        404,
        409,
        413,
        415,
        422,
        503,
    }
    assert _problem_statuses(paths["/things/{thing_id}"]["get"]) == {401, 403, 404, 422, 503}
    assert _problem_statuses(paths["/readyz"]["get"]) == set()


async def test_keyed_operations_name_the_bearer_scheme_and_posts_the_idempotency_key(
    service: LiveService,
) -> None:
    document = await _document(service)
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["paths"]["/things"]["get"]["security"] == [{"bearer": []}]
    assert "security" not in document["paths"]["/readyz"]["get"]
    post = document["paths"]["/things"]["post"]
    assert [p["name"] for p in post["parameters"]] == ["Idempotency-Key"]
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "errors"} <= set(problem["properties"])
    assert "HTTPValidationError" not in document["components"]["schemas"]


async def test_a_405_is_a_problem_whose_allow_names_every_method_of_the_path(
    service: LiveService,
) -> None:
    response = await service.client.delete("/things", headers={"Authorization": "Bearer k-sales"})
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["status"] == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "POST"}


async def test_a_body_that_is_not_json_is_a_415_problem(service: LiveService) -> None:
    response = await service.client.post(
        "/things",
        content=b"name=x",
        headers={"Authorization": "Bearer k-sales", "Content-Type": "text/plain"},
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["status"] == 415
    as_json = await service.client.post(
        "/things", json={"name": "x"}, headers={"Authorization": "Bearer k-sales"}
    )
    assert as_json.status_code == 201
