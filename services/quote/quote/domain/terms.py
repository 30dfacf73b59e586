"""Which terms each kind of quote needs (API.md, POST /v1/quotes)."""

from __future__ import annotations

from quote.domain.errors import InvalidLine

KINDS = ("new", "amendment", "renewal")


def check_terms(kind: str, contract_id: str | None, term_months: int | None) -> None:
    """Raise InvalidLine naming the field when the kind's required terms are missing or extra.

    new: no contract_id, term_months required. amendment: contract_id required, no
    term_months (it runs to the contract's end). renewal: contract_id and term_months.
    """
    if kind not in KINDS:
        raise InvalidLine("kind", f"must be one of {', '.join(KINDS)}")
    if kind == "new" and contract_id is not None:
        raise InvalidLine("contract_id", "a new quote has no contract_id")
    if kind in ("amendment", "renewal") and contract_id is None:
        raise InvalidLine("contract_id", f"an {kind} quote needs the contract_id it changes")
    if kind in ("new", "renewal") and term_months is None:
        raise InvalidLine("term_months", f"a {kind} quote needs term_months")
    if kind == "amendment" and term_months is not None:
        raise InvalidLine("term_months", "an amendment runs to the contract's end: no term_months")


def check_lines(kind: str, quantities: list[tuple[int, str | None]]) -> None:
    """Raise InvalidLine for a line that is not allowed in this kind of quote.

    `quantities` holds (quantity, subscription_id) per line. Only an amendment
    may name a subscription, and only a line naming one may have quantity 0.
    """
    if not quantities:
        raise InvalidLine("lines", "a quote needs at least one line")
    for index, (quantity, subscription_id) in enumerate(quantities):
        if subscription_id is not None and kind != "amendment":
            raise InvalidLine(
                f"lines[{index}].subscription_id", "only amendment lines name a subscription"
            )
        if quantity == 0 and subscription_id is None:
            raise InvalidLine(
                f"lines[{index}].quantity", "must be at least 1 (0 only removes a subscription)"
            )
