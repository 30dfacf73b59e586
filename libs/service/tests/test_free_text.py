"""FreeText: what its JSON Schema admits, the server takes, and what the server refuses,
the schema refuses too (a generated client never sends a value it cannot know is bad)."""

from __future__ import annotations

import re

import pytest
from pydantic import TypeAdapter, ValidationError
from revline_service.fields import FREE_TEXT_PATTERN, FreeText

TEXT = TypeAdapter(FreeText)
SCHEMA_PATTERN = re.compile(TEXT.json_schema()["pattern"])


@pytest.mark.parametrize("blank", ["\r", " ", "\t\n", "\x85", "\u3000", "\xa0 \u2028"])
def test_blank_text_fails_the_schema_as_it_fails_the_server(blank: str) -> None:
    assert SCHEMA_PATTERN.search(blank) is None
    with pytest.raises(ValidationError):
        TEXT.validate_python(blank)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("customer disputes PO", "customer disputes PO"), ("  padded \n", "padded"), ("a\tb", "a\tb")],
)
def test_text_with_a_visible_character_is_taken_without_surrounding_whitespace(
    sent: str, kept: str
) -> None:
    assert SCHEMA_PATTERN.search(sent) is not None
    assert TEXT.validate_python(sent) == kept


@pytest.mark.parametrize("control", ["a\x00", "\x1bx", "x\x7f"])
def test_control_characters_are_refused_by_both(control: str) -> None:
    assert re.search(FREE_TEXT_PATTERN, control) is None
    with pytest.raises(ValidationError, match="pattern"):
        TEXT.validate_python(control)
