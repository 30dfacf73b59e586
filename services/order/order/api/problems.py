"""The order service's table from exception class to HTTP problem: the only one."""

from __future__ import annotations

from typing import Any

from revline_service.problems import ProblemType

from order.domain.errors import (
    BillingAlreadyHeld,
    BillingNotHeld,
    OverrideBeforeEffectiveDate,
    UnknownOrder,
)


def _bad_date(error: Exception) -> list[dict[str, Any]]:
    """The `errors` list of a business 422: the field the rule names."""
    if not isinstance(error, OverrideBeforeEffectiveDate):
        raise TypeError(f"{type(error).__name__} is not an OverrideBeforeEffectiveDate")
    return [{"field": error.field, "in": "body", "message": error.message}]


PROBLEMS: dict[type[Exception], ProblemType] = {
    UnknownOrder: ProblemType(404, "unknown-order", "Unknown order"),
    BillingAlreadyHeld: ProblemType(409, "billing-already-held", "Billing is already on hold"),
    BillingNotHeld: ProblemType(409, "billing-not-held", "Billing is not on hold"),
    OverrideBeforeEffectiveDate: ProblemType(422, "validation", "Invalid request", _bad_date),
}
