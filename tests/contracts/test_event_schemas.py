"""The published JSON Schemas of every event, and the check that keeps them compatible."""

from __future__ import annotations

import json
from typing import Any

import pytest
import revline_events.payloads  # noqa: F401  # registers every event
from pydantic import BaseModel
from revline_events.catalogue import CATALOGUE, Catalogue, EventPayload
from revline_events.schemas import SCHEMA_DIR, breaking_changes, generate, render


def test_every_registered_event_has_its_published_schema_up_to_date() -> None:
    stale = [
        name
        for name, schema in generate().items()
        if not (SCHEMA_DIR / name).exists() or (SCHEMA_DIR / name).read_text() != render(schema)
    ]
    assert stale == [], "run: .venv/bin/python -m revline_events.schemas --write"


@pytest.mark.parametrize("path", sorted(SCHEMA_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_the_current_model_does_not_break_the_published_schema(path: Any) -> None:
    published = json.loads(path.read_text())
    current = generate().get(path.name)
    assert current is not None, f"{path.name} is published but no longer in the catalogue"
    assert breaking_changes(published, current) == []


class _Line(EventPayload):
    sku: str
    quantity: int


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    catalogue = Catalogue()
    catalogue.register("Probe", 1)(model)  # type: ignore[type-var]  # test models
    return generate(catalogue)["Probe.v1.json"]


class _Base(EventPayload):
    invoice_id: str
    total: int
    lines: list[_Line]


def test_adding_an_optional_field_is_compatible() -> None:
    class Grown(_Base):
        memo: str | None = None

    assert breaking_changes(_schema(_Base), _schema(Grown)) == []


def test_removing_a_field_breaks_the_schema() -> None:
    class Shrunk(EventPayload):
        invoice_id: str
        lines: list[_Line]

    assert breaking_changes(_schema(_Base), _schema(Shrunk)) == ["total: removed"]


def test_changing_a_field_type_breaks_the_schema() -> None:
    class Retyped(EventPayload):
        invoice_id: str
        total: str
        lines: list[_Line]

    assert breaking_changes(_schema(_Base), _schema(Retyped)) == ["total: type changed"]


def test_a_new_required_field_breaks_the_schema() -> None:
    class Demanding(_Base):
        due_date: str

    assert breaking_changes(_schema(_Base), _schema(Demanding)) == ["due_date: new required field"]


def test_making_a_required_field_optional_breaks_the_schema() -> None:
    class Loose(EventPayload):
        invoice_id: str
        total: int | None = None
        lines: list[_Line]

    problems = breaking_changes(_schema(_Base), _schema(Loose))
    assert "total: was required, now optional" in problems


def test_a_change_inside_a_nested_line_breaks_the_schema() -> None:
    class OtherLine(EventPayload):
        sku: str

    class Nested(EventPayload):
        invoice_id: str
        total: int
        lines: list[OtherLine]

    assert breaking_changes(_schema(_Base), _schema(Nested)) == ["lines[].quantity: removed"]


def test_the_shared_catalogue_is_not_polluted_by_these_tests() -> None:
    assert not CATALOGUE.knows("Probe")
