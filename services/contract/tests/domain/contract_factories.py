"""Contracts for the domain tests, built with the domain's own constructor."""

from __future__ import annotations

from datetime import date

from contract.domain.contract import Contract, NewContract, NewLine, open_contract


def seat(quantity: int = 10, unit_price: int = 5000, period: str = "month") -> NewLine:
    """A recurring SEAT line."""
    return NewLine("sub_seat", "SEAT", "Seat", "recurring", period, quantity, unit_price)  # type: ignore[arg-type]


def setup_fee(unit_price: int = 25000) -> NewLine:
    """A one-time SETUP line."""
    return NewLine("sub_setup", "SETUP", "Setup", "one_time", None, 1, unit_price)


def contract(
    start: date,
    term_months: int = 12,
    *,
    lines: list[NewLine] | None = None,
    auto_renew: bool = False,
    bill_cycle_day: int | None = None,
    contract_id: str = "ct_1",
) -> Contract:
    """An active contract opened from a new quote."""
    return open_contract(
        NewContract(
            contract_id=contract_id, account_id="acme", quote_id="qt_new", currency="USD",
            start_date=start, term_months=term_months,
            bill_cycle_day=bill_cycle_day or start.day, billing_timing="advance",
            auto_renew=auto_renew, lines=lines if lines is not None else [seat()],
        )
    )  # fmt: skip
