"""Cursor pagination (API.md, Lists): `?limit=` 1..500 (default 50) and `?cursor=`.

A cursor is the opaque, URL-safe encoding of the last row's sort key; the
next page holds the rows after it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from revline_service.problems import Problem

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: the items and the cursor of the next page (null at the end)."""

    data: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class PageRequest:
    """Validated paging parameters; `after` is the decoded sort key or None."""

    limit: int
    after: list[Any] | None


def encode_cursor(key: list[Any]) -> str:
    """Opaque cursor for a sort key."""
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    """The sort key inside a cursor; a 422 naming `cursor` when it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        key = None
    if not isinstance(key, list) or not key or not all(_plain_key_part(p) for p in key):
        raise Problem(
            422,
            "Invalid request",
            "cursor is not a cursor this API returned",
            slug="validation",
            errors=[{"field": "cursor", "in": "query", "message": "invalid cursor"}],
        )
    return key


def _plain_key_part(part: Any) -> bool:
    # Sort keys are strings and integers. A NUL or a lone surrogate (JSON allows
    # "\ud800") would make the database driver fail the query: a 500, not a 422.
    if isinstance(part, str):
        try:
            part.encode()
        except UnicodeEncodeError:
            return False
        return "\x00" not in part
    return isinstance(part, int) and not isinstance(part, bool)


async def page_request(
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> PageRequest:
    """FastAPI dependency: the validated page request (async: no thread-pool hop)."""
    return PageRequest(limit=limit, after=decode_cursor(cursor) if cursor else None)


def page_of(items: list[T], request: PageRequest, key: Any) -> Page[T]:
    """Build a page from up to limit + 1 fetched items; `key(item)` gives the sort key."""
    more = len(items) > request.limit
    items = items[: request.limit]
    cursor = encode_cursor(key(items[-1])) if more and items else None
    return Page[T](data=items, next_cursor=cursor)
