"""The contract service's table from exception class to HTTP problem: the only one."""

from __future__ import annotations

from typing import Any

from revline_service.problems import ProblemType

from contract.domain.errors import (
    ContractNotActive,
    EffectiveDateOutsideTerm,
    QuoteDoesNotFit,
    UnknownContract,
)
from contract.handlers.renewal_runs import UnknownRenewalRun


def _bad_field(error: Exception) -> list[dict[str, Any]]:
    """The `errors` list of a business 422: the field the rule names."""
    if isinstance(error, EffectiveDateOutsideTerm):
        return [{"field": error.field, "in": "body", "message": error.message}]
    return [{"field": "body", "in": "body", "message": str(error)}]


PROBLEMS: dict[type[Exception], ProblemType] = {
    UnknownContract: ProblemType(404, "unknown-contract", "Unknown contract"),
    UnknownRenewalRun: ProblemType(404, "unknown-renewal-run", "Unknown renewal run"),
    ContractNotActive: ProblemType(409, "contract-not-active", "Contract status forbids this"),
    EffectiveDateOutsideTerm: ProblemType(422, "validation", "Invalid request", _bad_field),
    QuoteDoesNotFit: ProblemType(422, "validation", "Invalid request", _bad_field),
}
