"""Wire types every Revline API shares (API.md, Conventions).

Dates travel as `YYYY-MM-DD` and nothing else; timestamps are ISO 8601 UTC
with an explicit offset, whatever the database handed back.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, WithJsonSchema
from revline_events.money import CURRENCY_EXPONENTS, is_currency

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

# The years a business date may fall in, as a pattern too: pydantic does not put a date's
# bounds into its JSON Schema, and a client generator should know them.
FIRST_BUSINESS_DAY = date(1900, 1, 1)
LAST_BUSINESS_DAY = date(2999, 12, 31)
BUSINESS_DATE_PATTERN = r"^(19[0-9]{2}|2[0-9]{3})-[0-9]{2}-[0-9]{2}$"

BusinessDate = Annotated[
    CalendarDate,
    Field(ge=FIRST_BUSINESS_DAY, le=LAST_BUSINESS_DAY),
    # The whole schema, not an extra on the field: a query parameter's Query(...) replaces
    # the field's extras, and pydantic would show the bounds as non-standard keywords.
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "pattern": BUSINESS_DATE_PATTERN,
            "examples": ["2026-01-15"],
            "description": "YYYY-MM-DD, 1900-01-01 to 2999-12-31",
        }
    ),
]
"""A request date a business step takes (a start, an as-of, an effective date):
`YYYY-MM-DD` from 1900-01-01 to 2999-12-31, wide enough for any contract, narrow enough
that a long term stays in the calendar."""


def _currency(value: str) -> str:
    if not is_currency(value):
        raise ValueError("not an ISO 4217 currency code Revline accepts (e.g. USD, EUR, JPY)")
    return value


Currency = Annotated[
    str,
    AfterValidator(_currency),
    Field(examples=["USD"], json_schema_extra={"enum": sorted(CURRENCY_EXPONENTS)}),
]
"""A request currency: an ISO 4217 code Revline knows (the document lists them)."""


# Characters a person's text may hold: no control characters but tab and line breaks.
_TEXT_CHAR = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
FREE_TEXT_PATTERN = rf"^{_TEXT_CHAR}*[^\s\x00-\x1f\x7f]{_TEXT_CHAR}*$"

FreeText = Annotated[
    str,
    # The pattern asks for one visible character, so a schema-valid value never strips
    # down to nothing: the schema states the whole rule (a client generator can trust it).
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
    Field(pattern=FREE_TEXT_PATTERN, examples=["customer disputes PO"]),
]
"""Free text for people (a reason, a note): up to 500 characters, not blank, no control
characters but tab and line breaks; stored without surrounding whitespace."""
