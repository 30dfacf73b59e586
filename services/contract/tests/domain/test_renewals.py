"""Renewals keep BCD, periods, quantities and prices; recurring subscriptions extend (§5)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from contract.domain.amendment import AmendmentLine, amend
from contract.domain.contract import ContractStatus, QuantityChange
from contract.domain.errors import ContractNotActive, EffectiveDateOutsideTerm
from contract.domain.renewal import renew
from contract_factories import contract, seat, setup_fee


def test_w15_renewal_extends_the_contract_and_its_recurring_subscriptions() -> None:
    current = contract(date(2026, 3, 15), 12, lines=[seat(1, 30000, "quarter"), setup_fee()],
                       bill_cycle_day=1)  # fmt: skip

    renewal = renew(current)

    assert (renewal.term.start, renewal.term.end) == (date(2027, 3, 15), date(2028, 3, 14))
    assert renewal.previous_end_date == date(2027, 3, 14)
    (seats,) = renewal.subscriptions  # the one-time SETUP does not renew
    assert (seats.id, seats.billing_period, seats.unit_price) == ("sub_seat", "quarter", 30000)
    assert (seats.start_date, seats.end_date) == (date(2027, 3, 15), date(2028, 3, 14))
    assert seats.quantities == (QuantityChange(date(2027, 3, 15), 1),)
    after = renewal.contract
    assert (after.start_date, after.end_date) == (date(2026, 3, 15), date(2028, 3, 14))
    assert (after.term_start, after.term_months, after.bill_cycle_day) == (date(2027, 3, 15), 12, 1)
    kept = after.subscription("sub_seat")
    assert kept is not None
    assert (kept.start_date, kept.end_date) == (date(2026, 3, 15), date(2028, 3, 14))
    setup = after.subscription("sub_setup")
    assert setup is not None and setup.end_date == date(2026, 3, 15)


def test_renewal_carries_the_quantity_in_force_on_the_end_date() -> None:
    current = contract(date(2026, 1, 1), 12)
    line = AmendmentLine("SEAT", "Seat", "recurring", "month", 14, 5000, "sub_seat")
    amended = amend(current, "qt_up", date(2026, 11, 1), [line], lambda i: f"x{i}").contract

    (seats,) = renew(amended).subscriptions

    assert seats.quantities == (QuantityChange(date(2027, 1, 1), 14),)
    assert seats.unit_price == 5000


def test_a_removed_subscription_does_not_renew() -> None:
    current = contract(date(2026, 1, 1), 12)
    line = AmendmentLine("SEAT", "Seat", "recurring", "month", 0, 5000, "sub_seat")
    removed = amend(current, "qt_rm", date(2026, 11, 1), [line], lambda i: f"x{i}").contract

    renewal = renew(removed)

    assert renewal.subscriptions == ()
    seats = renewal.contract.subscription("sub_seat")
    assert seats is not None and seats.end_date == date(2026, 12, 31)


def test_a_renewal_quote_must_start_the_day_after_the_end_date() -> None:
    current = contract(date(2026, 1, 1), 12)

    with pytest.raises(EffectiveDateOutsideTerm, match="starts on 2027-01-01"):
        renew(current, 12, quoted_start=date(2027, 1, 2))
    assert renew(current, 6, quoted_start=date(2027, 1, 1)).term.end == date(2027, 6, 30)


@pytest.mark.parametrize("status", [ContractStatus.TERMINATED, ContractStatus.EXPIRED])
def test_a_contract_that_ended_does_not_renew(status: ContractStatus) -> None:
    with pytest.raises(ContractNotActive, match="cannot renew"):
        renew(replace(contract(date(2026, 1, 1)), status=status))
