"""Termination: T is the first day without service, end_date = T - 1 (§5, W13, W14)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from contract.domain.amendment import AmendmentLine, amend
from contract.domain.contract import ContractStatus, QuantityChange
from contract.domain.errors import ContractNotActive, EffectiveDateOutsideTerm
from contract.domain.termination import terminate
from contract_factories import contract, seat, setup_fee

YEAR_2026 = contract(date(2026, 1, 1), 12, lines=[seat(2, 120000, "year"), setup_fee()])


def test_w13_termination_on_1_september_ends_service_on_31_august() -> None:
    result = terminate(YEAR_2026, date(2026, 9, 1), credit_unused=True)

    assert (result.effective_date, result.end_date) == (date(2026, 9, 1), date(2026, 8, 31))
    assert result.credit_unused
    seats, fee = result.subscriptions
    assert (seats.start_date, seats.end_date) == (date(2026, 1, 1), date(2026, 8, 31))
    assert seats.quantity_on(seats.end_date) == 2
    assert (fee.start_date, fee.end_date) == (date(2026, 1, 1), date(2026, 1, 1))
    assert result.contract.status is ContractStatus.TERMINATED
    assert result.contract.end_date == date(2026, 8, 31)


def test_w14_termination_mid_month_without_credit() -> None:
    monthly = contract(date(2026, 1, 1), 12, lines=[seat(1, 6100)], bill_cycle_day=1)

    result = terminate(monthly, date(2026, 6, 16), credit_unused=False)

    assert result.end_date == date(2026, 6, 15)
    assert not result.credit_unused


@pytest.mark.parametrize(
    ("effective", "end"),
    [(date(2026, 1, 2), date(2026, 1, 1)), (date(2026, 12, 31), date(2026, 12, 30))],
)
def test_t_may_be_the_day_after_the_start_or_the_last_day(effective: date, end: date) -> None:
    assert terminate(YEAR_2026, effective, credit_unused=False).end_date == end


@pytest.mark.parametrize("effective", [date(2025, 6, 1), date(2026, 1, 1), date(2027, 1, 1)])
def test_t_outside_the_term_is_refused_naming_effective_date(effective: date) -> None:
    with pytest.raises(EffectiveDateOutsideTerm) as refused:
        terminate(YEAR_2026, effective, credit_unused=False)
    assert refused.value.field == "effective_date"


@pytest.mark.parametrize("status", [ContractStatus.TERMINATED, ContractStatus.EXPIRED])
def test_a_contract_that_ended_cannot_be_terminated(status: ContractStatus) -> None:
    with pytest.raises(ContractNotActive, match="cannot terminate"):
        terminate(replace(YEAR_2026, status=status), date(2026, 6, 1), credit_unused=False)


def test_terminating_twice_is_refused() -> None:
    once = terminate(YEAR_2026, date(2026, 9, 1), credit_unused=True).contract

    with pytest.raises(ContractNotActive, match="is terminated"):
        terminate(once, date(2026, 8, 1), credit_unused=True)


def test_a_subscription_due_to_start_on_or_after_t_never_starts() -> None:
    line = AmendmentLine("ADD", "Add-on", "recurring", "quarter", 3, 9000)
    later = amend(YEAR_2026, "qt_add", date(2026, 10, 1), [line], lambda i: "sub_add").contract

    result = terminate(later, date(2026, 9, 1), credit_unused=True)

    addon = result.contract.subscription("sub_add")
    assert addon is not None
    assert (addon.start_date, addon.end_date) == (date(2026, 10, 1), date(2026, 10, 1))
    assert addon.quantities == (QuantityChange(date(2026, 10, 1), 0),)
