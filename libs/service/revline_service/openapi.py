"""The OpenAPI document a client generator can trust: every error an operation can answer.

FastAPI documents a route's success response and a 422 of its own shape. Revline's
errors are RFC 9457 problems (problems.py), so the document is finished here, once
for every service, from what each route has:

- a key requirement (`auth.require`): 401 and 403, and the `bearer` security scheme;
  503 too (such an operation uses the database, which may be unreachable);
- a path parameter: 404 (an unknown id);
- a request body: 400 (not JSON), 404 (it names something unknown), 413 (over the size
  limit), 415 (not JSON media);
- a POST: the `Idempotency-Key` header;
- any parameter or body: 422 (names each bad field, or a rule the schema cannot state,
  such as a date order or a reference to something unknown);
- a write (any method but GET): 409 (a state that forbids the step, a concurrent update).

Each of these answers is `application/problem+json` with the `Problem` schema. A
route's own `responses=` entries win over the derived ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from revline_service.auth import roles_of
from revline_service.idempotency import MAX_KEY_LENGTH
from revline_service.problems import PROBLEM_JSON

BEARER = "bearer"
# What each derived status means, as the document says it.
DESCRIPTIONS: dict[int, str] = {
    400: "The body is not JSON.",
    401: "No API key, or an unknown one (`Authorization: Bearer <key>`).",
    403: "The key's role may not do this.",
    404: "No such resource.",
    409: "The resource's state forbids the step, or a concurrent update came first.",
    413: "The body is over the service's size limit.",
    415: "The body is not `application/json`.",
    422: "A field is invalid (each is named in `errors`), or a rule the schema cannot state "
    "refused the request (a date order, a reference to something unknown, an "
    "Idempotency-Key reused with another body).",
    503: "The database cannot be reached; nothing was written. Retry (after `Retry-After` "
    "seconds) with the same Idempotency-Key.",
}


class FieldProblem(BaseModel):
    """One bad field of a validation problem."""

    field: str = Field(description="dotted path of the field, e.g. `lines[0].quantity`")
    in_: str = Field(alias="in", description="body, query, path or header")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem: what every 4xx and 5xx answer of a Revline service carries."""

    type: str = Field(description="a URI naming the kind of problem")
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = Field(
        default=None, description="validation problems: each bad field"
    )


def requires_key(dependant: Dependant) -> bool:
    """True when the route (or a dependency of it) is an `auth.require` check."""
    for dependency in dependant.dependencies:
        if roles_of(dependency.call) is not None:
            return True
        if requires_key(dependency):
            return True
    return False


def _has(dependant: Dependant, kind: str) -> bool:
    if getattr(dependant, kind):
        return True
    return any(_has(dependency, kind) for dependency in dependant.dependencies)


def error_statuses(route: APIRoute, method: str) -> list[int]:
    """The problem statuses `route` can answer for `method`, derived from what it has."""
    statuses: set[int] = set()
    dependant = route.dependant
    has_body = route.body_field is not None
    if requires_key(dependant):
        # Everything behind a key reads or writes the database: 503 while it is unreachable.
        statuses |= {401, 403, 503}
    if _has(dependant, "path_params"):
        statuses.add(404)
    if has_body:
        # A body may name another resource (the invoice a payment is for): 404 too.
        statuses |= {400, 404, 413, 415, 422}
    if any(_has(dependant, kind) for kind in ("query_params", "header_params", "path_params")):
        statuses.add(422)
    if method != "GET":
        statuses.add(409)
    if method == "POST":
        statuses.add(422)  # the Idempotency-Key header
    return sorted(statuses)


def _problem_response(status: int) -> dict[str, Any]:
    return {
        "description": DESCRIPTIONS[status],
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "The same key with the same body answers the first response again, "
    "without a second effect; with another body it is a 422.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": r"\S"},
}


def _document_operation(operation: dict[str, Any], route: APIRoute, method: str) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    own = {str(status) for status in route.responses}
    for status in error_statuses(route, method):
        if str(status) not in own:
            responses[str(status)] = _problem_response(status)
    operation["responses"] = dict(sorted(responses.items()))
    if requires_key(route.dependant):
        operation["security"] = [{BEARER: []}]
    if method == "POST":
        parameters: list[dict[str, Any]] = operation.setdefault("parameters", [])
        if not any(p.get("name", "").lower() == "idempotency-key" for p in parameters):
            parameters.append(IDEMPOTENCY_KEY)


def _api_routes(app: FastAPI) -> Iterable[APIRoute]:
    for route in app.routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            yield route


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document with every operation's problem responses and security added."""
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components: dict[str, Any] = document.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(
        by_alias=True, ref_template="#/components/schemas/{model}"
    )
    schemas.update(problem_schema.pop("$defs", {}))
    schemas["Problem"] = problem_schema
    # FastAPI's own 422 shape is never sent: validation errors are problems too.
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key (`REVLINE_API_KEYS`); its role decides what it may do.",
        }
    }
    paths: dict[str, Any] = document.get("paths", {})
    for route in _api_routes(app):
        for method in sorted(route.methods):
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is not None:
                _document_operation(operation, route, method)
    add_id_links(document)
    return document


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        resolved: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
        return resolved
    return schema


def _collection(path: str) -> str:
    return path.split("/{", 1)[0]


def add_id_links(document: dict[str, Any]) -> None:
    """Link each answer that carries a resource's `id` to the operations on that resource.

    Revline's convention: `POST /v1/quotes` (or any step on `/v1/quotes/{quote_id}/...`)
    answers the quote with its `id`, and `/v1/quotes/{quote_id}...` takes it. A client
    generator (and schemathesis' stateful phase) can then follow a created resource.
    """
    paths: dict[str, Any] = document.get("paths", {})
    by_collection: dict[str, list[tuple[str, str]]] = {}
    for path, operations in paths.items():
        head, sep, rest = path.partition("/{")
        if not sep:
            continue
        name, _, tail = rest.partition("}")
        if "{" in tail:
            continue  # a second parameter this link could not fill
        for operation in operations.values():
            by_collection.setdefault(head, []).append((operation["operationId"], name))
    for path, operations in paths.items():
        targets = by_collection.get(_collection(path), [])
        for operation in operations.values():
            for status, answer in operation.get("responses", {}).items():
                if not status.startswith("2"):
                    continue
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                if not schema or "id" not in _resolve(document, schema).get("properties", {}):
                    continue
                answer["links"] = {
                    operation_id: {
                        "operationId": operation_id,
                        "parameters": {name: "$response.body#/id"},
                    }
                    for operation_id, name in targets
                }


def install_openapi(app: FastAPI) -> None:
    """Serve `build_openapi(app)` at /openapi.json (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise
