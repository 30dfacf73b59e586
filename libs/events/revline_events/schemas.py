"""JSON Schema of every event in the catalogue, and the check that keeps them compatible.

Published schemas live in `libs/events/schemas/<Type>.v<N>.json`. Once
written, a schema may only grow compatibly (new optional fields); a breaking
change needs a new schema_version with an upcaster. `python -m
revline_events.schemas --write` adds new schemas and updates compatible ones;
it refuses a breaking change. `--check` fails when a file is missing or stale.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from revline_events.catalogue import CATALOGUE, Catalogue

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
_DOC_KEYS = {"description", "title", "default", "examples"}


def schema_file_name(event_type: str, version: int) -> str:
    """`QuoteAccepted.v1.json`."""
    return f"{event_type}.v{version}.json"


def generate(catalogue: Catalogue = CATALOGUE) -> dict[str, dict[str, Any]]:
    """The JSON Schema of every registered payload, by file name."""
    out: dict[str, dict[str, Any]] = {}
    for (event_type, version), model in sorted(catalogue.models().items()):
        schema = model.model_json_schema()
        schema["x-event-type"] = event_type
        schema["x-schema-version"] = version
        out[schema_file_name(event_type, version)] = schema
    return out


def render(schema: dict[str, Any]) -> str:
    """The stable text of a schema file."""
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def breaking_changes(published: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """What in `current` breaks readers or writers of `published` (empty when compatible).

    Breaking: a property removed, its type changed, a new required property, or a
    required property made optional. Adding an optional property is compatible.
    """
    return _compare(published, current, published.get("$defs", {}), current.get("$defs", {}), "")


def _compare(
    old: dict[str, Any], new: dict[str, Any], old_defs: dict[str, Any],
    new_defs: dict[str, Any], path: str,
) -> list[str]:  # fmt: skip
    old, new = _resolve(old, old_defs), _resolve(new, new_defs)
    problems: list[str] = []
    old_props, new_props = old.get("properties"), new.get("properties")
    if old_props is not None or new_props is not None:
        old_props, new_props = old_props or {}, new_props or {}
        old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
        for name in sorted(old_props):
            where = f"{path}.{name}" if path else name
            if name not in new_props:
                problems.append(f"{where}: removed")
                continue
            if name in old_req and name not in new_req:
                problems.append(f"{where}: was required, now optional")
            problems += _compare(old_props[name], new_props[name], old_defs, new_defs, where)
        for name in sorted(set(new_props) - set(old_props)):
            if name in new_req:
                where = f"{path}.{name}" if path else name
                problems.append(f"{where}: new required field")
        return problems
    if "items" in old or "items" in new:
        return _compare(old.get("items", {}), new.get("items", {}), old_defs, new_defs, f"{path}[]")
    if "anyOf" in old or "anyOf" in new:
        old_options = [_strip(_resolve(o, old_defs)) for o in old.get("anyOf", [old])]
        new_options = [_strip(_resolve(o, new_defs)) for o in new.get("anyOf", [new])]
        if sorted(map(_key, old_options)) != sorted(map(_key, new_options)):
            problems.append(f"{path}: type changed")
        return problems
    if _strip(old) != _strip(new):
        problems.append(f"{path}: type changed")
    return problems


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved: dict[str, Any] = defs.get(ref.removeprefix("#/$defs/"), {})
        return resolved
    return schema


def _strip(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k not in _DOC_KEYS}


def _key(schema: dict[str, Any]) -> str:
    return json.dumps(schema, sort_keys=True)


def write(directory: Path = SCHEMA_DIR, catalogue: Catalogue = CATALOGUE) -> list[str]:
    """Write new and compatibly changed schemas; raise SystemExit on a breaking change."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in generate(catalogue).items():
        path = directory / name
        if path.exists():
            problems = breaking_changes(json.loads(path.read_text()), schema)
            if problems:
                raise SystemExit(f"{name} would break: {'; '.join(problems)}")
            if path.read_text() == render(schema):
                continue
        path.write_text(render(schema))
        written.append(name)
    return written


def main(argv: list[str] | None = None) -> int:
    """`--write` to update the published schemas, `--check` to verify them."""
    import revline_events.payloads  # noqa: F401  # registers every event

    parser = argparse.ArgumentParser(prog="python -m revline_events.schemas")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    if args.write:
        for name in write():
            print(f"wrote {name}")
        return 0
    stale = [
        name
        for name, schema in generate().items()
        if not (SCHEMA_DIR / name).exists() or (SCHEMA_DIR / name).read_text() != render(schema)
    ]
    for name in stale:
        print(f"stale or missing: {name}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
