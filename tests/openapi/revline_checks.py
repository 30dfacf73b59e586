"""A schemathesis check of Revline's own: a 422 to schema-valid data names a rule the
OpenAPI document cannot state, never one it failed to state.

Loaded by the schemathesis run of test_live_openapi.py (SCHEMATHESIS_HOOKS). Request
validation problems (revline_service.problems) have the detail `invalid: <fields>` and one
entry per field in `errors`; business rules and the chassis' own refusals (cursor,
Idempotency-Key) have details of their own.
"""

from __future__ import annotations

import json

import schemathesis

# The only refusal by request validation a schema-valid value can meet: an integer written
# as a whole float (2.0), which JSON Schema 2020-12 counts as an integer.
WHOLE_FLOAT = "Input should be a valid integer"


@schemathesis.check
def unstated_rules_only(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """A positive case answered 422 by request validation fails unless only whole floats
    were refused."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    try:
        problem = json.loads(response.content)
    except ValueError:
        raise AssertionError("a 422 that is not JSON") from None
    if not str(problem.get("detail", "")).startswith("invalid: "):
        return None  # a business rule or the chassis' own (cursor, idempotency key)
    unstated = [e for e in problem.get("errors", []) if e.get("message") != WHOLE_FLOAT]
    if unstated:
        raise AssertionError(
            "schema-valid data refused by a rule the schema does not state: "
            + "; ".join(f"{e.get('field')}: {e.get('message')}" for e in unstated)
        )
    return None
