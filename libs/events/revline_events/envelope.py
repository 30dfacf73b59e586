"""The envelope every Revline event travels in (DESIGN.md, Events).

The envelope is what the kernel stores, publishes and de-duplicates on; the
payload inside it is a typed model from the catalogue.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

ACCOUNT_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"


class Envelope(BaseModel):
    """One event as stored and published: identity, ordering, causality and its payload.

    `stream_version` counts 1, 2, ... per aggregate (`stream_id`). `payload` is
    the JSON form of the typed payload registered under (`type`, `schema_version`).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str
    type: str = Field(min_length=1, max_length=100)
    schema_version: int = Field(ge=1)
    stream_id: str = Field(min_length=1, max_length=200)
    stream_version: int = Field(ge=1)
    account_id: str = Field(pattern=ACCOUNT_ID_PATTERN)
    occurred_at: AwareDatetime
    effective_date: date | None = None
    correlation_id: str
    causation_id: str | None = None
    producer: str
    payload: dict[str, Any]

    def to_bytes(self) -> bytes:
        """Serialise to the canonical JSON bytes published on the wire."""
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        """Parse wire bytes; raises pydantic.ValidationError or ValueError when malformed."""
        return cls.model_validate_json(raw)


def new_event_id() -> str:
    """A fresh, globally unique event id."""
    return str(uuid.uuid4())


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: equal data gives equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
