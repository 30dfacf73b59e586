"""Write endpoints: one business step, one unit of work, honouring `Idempotency-Key`.

The same key with the same body returns the first response again without a
second effect; the same key with another body (or on another endpoint) is a
422. The stored response is written in the same transaction as the effect,
so a crash can never leave one without the other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from revline_events.envelope import canonical_json
from revline_events.unit_of_work import UnitOfWork
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from revline_service.auth import Principal
from revline_service.problems import Problem

Step = Callable[[UnitOfWork], Awaitable[Any]]
MAX_KEY_LENGTH = 255


def _request_hash(request: Request, body: BaseModel | None) -> str:
    data = body.model_dump(mode="json", exclude_unset=False) if body is not None else None
    text = canonical_json({"method": request.method, "path": request.url.path, "body": data})
    return hashlib.sha256(text.encode()).hexdigest()


def _key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise Problem(
            422,
            "Invalid request",
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters",
            slug="validation",
            errors=[{"field": "Idempotency-Key", "in": "header", "message": "bad length"}],
        )
    return key


async def checked_key(request: Request) -> None:
    """App-wide dependency: a malformed Idempotency-Key on any POST is a 422.

    The OpenAPI document declares the header on every POST (API.md), including steps
    that are safe to repeat without it (an admin's republish), so every POST checks it.
    """
    if request.method == "POST":
        _key(request)


@dataclass(frozen=True)
class Outcome:
    """What a write endpoint answers: the JSON-ready body, its status, and whether it
    is the stored answer to an earlier request with the same Idempotency-Key."""

    body: Any
    status_code: int
    replayed: bool = False

    def response(self) -> JSONResponse:
        """The HTTP response; a replay carries `Idempotent-Replayed: true`."""
        headers = {"Idempotent-Replayed": "true"} if self.replayed else None
        return JSONResponse(self.body, status_code=self.status_code, headers=headers)


async def execute(
    request: Request,
    principal: Principal,
    uow_factory: Callable[[], UnitOfWork],
    step: Step,
    *,
    body: BaseModel | None = None,
    status_code: int = 200,
) -> JSONResponse:
    """Run `step` once (see `run_once`) and answer with its response."""
    outcome = await run_once(
        request, principal, uow_factory, step, body=body, status_code=status_code
    )
    return outcome.response()


async def run_once(
    request: Request,
    principal: Principal,
    uow_factory: Callable[[], UnitOfWork],
    step: Step,
    *,
    body: BaseModel | None = None,
    status_code: int = 200,
) -> Outcome:
    """Run `step` in a fresh unit of work and commit; replay a stored answer for a known key.

    With a key, the request first claims it (a row in `idempotency_keys`) in the
    same transaction as the step. A concurrent request with the same key then
    waits on that row: when the first commits it replays the stored answer, when
    the first fails (a 409, say) the claim is rolled back and it runs the step itself.
    """
    key = _key(request)
    scope = f"{principal.key_id}:{key}" if key is not None else None
    # Only a keyed request is compared with a stored one (the hash costs a dump and a digest).
    request_hash = _request_hash(request, body) if scope is not None else ""
    for _attempt in range(3):
        async with uow_factory() as uow:
            if scope is not None:
                replay = await _stored(uow, scope, request_hash)
                if replay is not None:
                    return replay
                if not await _claim(uow, scope, request_hash):
                    continue  # a concurrent request with this key committed first: replay it
            result = _json_ready(await step(uow))
            if scope is not None:
                table = uow.tables.idempotency_keys
                await uow.session.execute(
                    update(table)
                    .where(table.c.scope == scope)
                    .values(status_code=status_code, response_body=json.dumps(result))
                )
            await uow.commit()
        return Outcome(result, status_code)
    raise Problem(409, "Conflict", "a concurrent request with this Idempotency-Key is in progress")


def _json_ready(result: Any) -> Any:
    """The step's answer as JSON-ready data. A pydantic model (what the services'
    steps answer) dumps itself in JSON mode, as `jsonable_encoder` would, without
    the encoder's second walk over the dumped data; anything else goes through it."""
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json", by_alias=True)
    return jsonable_encoder(result)


async def _claim(uow: UnitOfWork, scope: str, request_hash: str) -> bool:
    """Insert the key's row (answer still empty); False when another request holds it."""
    try:
        await uow.session.execute(
            insert(uow.tables.idempotency_keys).values(
                scope=scope,
                request_hash=request_hash,
                status_code=0,
                response_body="",
                created_at=datetime.now(UTC),
            )
        )
    except IntegrityError:
        return False
    return True


async def _stored(uow: UnitOfWork, scope: str, request_hash: str) -> Outcome | None:
    table = uow.tables.idempotency_keys
    row = (
        (await uow.session.execute(select(table).where(table.c.scope == scope))).mappings().first()
    )
    if row is None:
        return None
    if row["request_hash"] != request_hash:
        raise Problem(
            422,
            "Idempotency key reused",
            "this Idempotency-Key was used with a different request body or endpoint",
            slug="idempotency-key-reused",
            errors=[{"field": "Idempotency-Key", "in": "header", "message": "reused"}],
        )
    return Outcome(json.loads(row["response_body"]), row["status_code"], replayed=True)
