"""Wire types every Revline API shares (API.md, Conventions).

Dates travel as `YYYY-MM-DD` and nothing else; timestamps are ISO 8601 UTC
with an explicit offset, whatever the database handed back.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def as_utc(value: datetime) -> datetime:
    """The same instant in UTC; a naive value is taken as UTC already.

    SQLite returns the naive UTC datetimes it stored; PostgreSQL returns aware
    ones, possibly in the session's zone. Both come out as the same UTC instant.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _iso_date_only(value: Any) -> Any:
    # Lax pydantic would also take 0 (1970-01-01), Unix timestamps and
    # "2026-01-15T00:00:00"; the contract says YYYY-MM-DD.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


UtcTimestamp = Annotated[datetime, AfterValidator(as_utc)]
"""A response timestamp: always timezone-aware UTC, serialised with `Z`."""

CalendarDate = Annotated[
    date,
    BeforeValidator(_iso_date_only),
    Field(examples=["2026-01-15"]),
]
"""A request date: a `YYYY-MM-DD` string (a real calendar day), nothing else."""
