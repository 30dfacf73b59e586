"""RFC 9457 problem+json: the one place exceptions become HTTP error bodies.

A service registers its business exceptions with a status; validation errors
name each bad field; a database that cannot be reached is a 503 with Retry-After
(nothing was written: a request is one transaction); anything unmapped is a 500
and a bug, logged as such.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry import trace
from revline_events.consumer import TRANSIENT_ERRORS
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from revline_service.tracing import request_span

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


FieldErrors = Callable[[Exception], list[dict[str, Any]]]


@dataclass(frozen=True)
class ProblemType:
    """How one exception class is shown: HTTP status, a stable type slug, a title.

    `errors`, when given, turns the exception into the `errors` list of a
    validation problem (`[{"field": ..., "in": ..., "message": ...}]`), so a
    business 422 names its field just like a schema 422 does.
    """

    status: int
    slug: str
    title: str
    errors: FieldErrors | None = None


class Problem(Exception):
    """An error that already knows its HTTP status (used by the chassis itself)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        slug: str | None = None,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.slug = slug or title.lower().replace(" ", "-")
        self.errors = list(errors or [])
        self.headers = dict(headers or {})


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """Render a problem+json response."""
    body: dict[str, Any] = {
        "type": f"https://revline.dev/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = list(errors)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def field_path(loc: Sequence[str | int]) -> str:
    """`("body", "lines", 0, "quantity")` -> `lines[0].quantity`."""
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def _validation_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for item in error.errors():
        loc = tuple(item.get("loc", ()))
        source = str(loc[0]) if loc else "body"
        if item.get("type") == "json_invalid":
            # loc is ("body", <character offset>): the body as a whole is not JSON.
            reason = (item.get("ctx") or {}).get("error") or "not JSON"
            at = f" at character {loc[-1]}" if len(loc) > 1 else ""
            errors.append({"field": "body", "in": "body", "message": f"{reason}{at}"})
            continue
        errors.append({"field": field_path(loc), "in": source, "message": item.get("msg", "")})
    return errors


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers at the request's path (for `Allow`).

    Starlette's own 405 names only the methods of the first route matching the path;
    GET and POST of one path are two routes here.
    """
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods:
            match, _ = route.matches(request.scope)
            if match is not Match.NONE:
                methods |= route.methods
    return sorted(methods)


def _not_json(request: Request) -> bool:
    """True when the request says its body is some media type other than JSON."""
    content_type = request.headers.get("content-type")
    if content_type is None:
        return False  # FastAPI reads a body without a type as JSON
    media = content_type.split(";")[0].strip().lower()
    return not (
        media == "application/json"
        or (media.startswith("application/") and media.endswith("+json"))
    )


def install_problem_handlers(app: FastAPI, mapping: Mapping[type[Exception], ProblemType]) -> None:
    """Register the exception -> problem table and the validation and fallback handlers."""

    async def on_validation(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        errors = _validation_errors(error)
        if _not_json(request) and any(e["in"] == "body" for e in errors):
            return problem_response(
                415,
                "Unsupported media type",
                "send the body as application/json",
                slug="unsupported-media-type",
            )
        fields = ", ".join(e["field"] for e in errors)
        return problem_response(
            422, "Invalid request", f"invalid: {fields}", slug="validation", errors=errors
        )

    async def on_problem(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, Problem)
        return problem_response(
            error.status,
            error.title,
            error.detail,
            slug=error.slug,
            errors=error.errors,
            headers=error.headers,
        )

    async def on_http(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        title = {400: "Bad request", 404: "Not found", 405: "Method not allowed"}.get(
            error.status_code, "HTTP error"
        )
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return problem_response(
            error.status_code,
            title,
            str(error.detail),
            slug=f"http-{error.status_code}",
            headers=headers,
        )

    def business(problem_type: ProblemType) -> Any:
        async def on_business(_request: Request, error: Exception) -> JSONResponse:
            if problem_type.errors is not None:
                errors = problem_type.errors(error)
            else:
                listed = getattr(error, "errors", None)
                errors = listed if isinstance(listed, list) else []
            return problem_response(
                problem_type.status,
                problem_type.title,
                str(error),
                slug=problem_type.slug,
                errors=errors,
            )

        return on_business

    async def on_bug(request: Request, error: Exception) -> JSONResponse:
        # Logged under the request's span: the line carries the request's trace id.
        with trace.use_span(request_span(request.scope)):
            log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            500, "Internal error", "an unexpected error occurred; it has been logged", slug="bug"
        )

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for exc_class, problem_type in mapping.items():
        app.add_exception_handler(exc_class, business(problem_type))

    async def on_unavailable(request: Request, error: Exception) -> JSONResponse:
        log.warning("%s %s: database unavailable: %s", request.method, request.url.path, error)
        return problem_response(
            503, "Service unavailable",
            "the database cannot be reached; nothing was written, retry with the same "
            "Idempotency-Key", slug="unavailable", headers={"Retry-After": "1"},
        )  # fmt: skip

    for transient in TRANSIENT_ERRORS:
        app.add_exception_handler(transient, on_unavailable)
    app.add_exception_handler(Exception, on_bug)
