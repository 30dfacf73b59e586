"""Amendments set quantities from an effective date E and add co-terminated subscriptions."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from contract.domain.amendment import AmendmentLine, amend
from contract.domain.contract import ContractStatus, QuantityChange
from contract.domain.errors import (
    AmendmentOutOfOrder,
    ContractNotActive,
    EffectiveDateOutsideTerm,
    InvalidQuote,
    SubscriptionNotAmendable,
    UnknownSubscription,
)
from contract.domain.renewal import renew
from contract_factories import contract, seat, setup_fee


def set_seats(quantity: int, subscription_id: str = "sub_seat") -> AmendmentLine:
    # Product fields and price of a line naming a subscription are ignored.
    return AmendmentLine("SEAT", "Seat", "recurring", "month", quantity, 1, subscription_id)


def added(
    sku: str, quantity: int, unit_price: int, period: str | None = "quarter"
) -> AmendmentLine:
    charge = "recurring" if period else "one_time"
    return AmendmentLine(sku, sku.title(), charge, period, quantity, unit_price)  # type: ignore[arg-type]


def new_ids(index: int) -> str:
    return f"sub_new_{index}"


MARCH = contract(date(2026, 1, 1), 12, bill_cycle_day=1)  # 2026-01-01..2026-12-31, SEAT x10


def test_w9_upgrade_sets_the_quantity_from_e_and_keeps_the_unit_price() -> None:
    result = amend(MARCH, "qt_up", date(2026, 3, 11), [set_seats(15)], new_ids)

    (change,) = result.changes
    assert (change.quantity_before, change.quantity_after) == (10, 15)
    seats = change.subscription
    assert seats.unit_price == 5000
    assert (seats.start_date, seats.end_date) == (date(2026, 1, 1), date(2026, 12, 31))
    assert seats.quantities == (
        QuantityChange(date(2026, 1, 1), 10), QuantityChange(date(2026, 3, 11), 15),
    )  # fmt: skip
    assert seats.quantity_on(date(2026, 3, 10)) == 10
    assert seats.quantity_on(date(2026, 3, 11)) == 15
    assert result.contract.subscription("sub_seat") == seats
    assert [(a.quote_id, a.effective_date) for a in result.contract.amendments] == [
        ("qt_up", date(2026, 3, 11))
    ]


def test_w10_downgrade_reports_the_quantity_before_and_after() -> None:
    result = amend(MARCH, "qt_down", date(2026, 3, 20), [set_seats(7)], new_ids)

    (change,) = result.changes
    assert (change.quantity_before, change.quantity_after) == (10, 7)
    assert change.subscription.quantity_on(date(2026, 3, 19)) == 10
    assert change.subscription.quantity_on(date(2026, 12, 31)) == 7


def test_w12_an_added_subscription_starts_on_e_and_ends_with_the_contract() -> None:
    result = amend(MARCH, "qt_add", date(2026, 5, 20), [added("ADD", 1, 9000)], new_ids)

    (change,) = result.changes
    assert (change.quantity_before, change.quantity_after) == (0, 1)
    new = change.subscription
    assert (new.id, new.sku, new.billing_period, new.unit_price) == (
        "sub_new_0",
        "ADD",
        "quarter",
        9000,
    )
    assert (new.start_date, new.end_date) == (date(2026, 5, 20), date(2026, 12, 31))
    assert [s.id for s in result.contract.subscriptions] == ["sub_seat", "sub_new_0"]


def test_an_added_one_time_charge_is_for_its_effective_date_only() -> None:
    result = amend(MARCH, "qt_fee", date(2026, 5, 20), [added("TRAINING", 2, 800, None)], new_ids)

    (change,) = result.changes
    assert (change.subscription.start_date, change.subscription.end_date) == (
        date(2026, 5, 20), date(2026, 5, 20),
    )  # fmt: skip
    assert change.subscription.billing_period is None


def test_quantity_zero_removes_a_subscription_from_e() -> None:
    result = amend(MARCH, "qt_rm", date(2026, 7, 1), [set_seats(0)], new_ids)

    seats = result.changes[0].subscription
    assert (result.changes[0].quantity_before, result.changes[0].quantity_after) == (10, 0)
    assert seats.is_removed
    assert seats.quantity_on(date(2026, 6, 30)) == 10
    assert seats.quantity_on(date(2026, 7, 1)) == 0
    assert seats.end_date == date(2026, 12, 31)  # the quantity changes, nothing else


def test_a_removed_subscription_cannot_be_amended_again() -> None:
    removed = amend(MARCH, "qt_rm", date(2026, 7, 1), [set_seats(0)], new_ids).contract

    with pytest.raises(SubscriptionNotAmendable, match="removed"):
        amend(removed, "qt_back", date(2026, 8, 1), [set_seats(3)], new_ids)


@pytest.mark.parametrize("effective", [date(2026, 1, 1), date(2026, 12, 31)])
def test_e_may_be_the_first_or_the_last_day_of_the_term(effective: date) -> None:
    result = amend(MARCH, "qt", effective, [set_seats(12)], new_ids)

    assert result.changes[0].subscription.quantity_on(effective) == 12


@pytest.mark.parametrize("effective", [date(2025, 12, 31), date(2027, 1, 1)])
def test_e_outside_the_term_is_refused(effective: date) -> None:
    with pytest.raises(EffectiveDateOutsideTerm, match="outside the current term"):
        amend(MARCH, "qt", effective, [set_seats(12)], new_ids)


def test_after_a_renewal_e_must_fall_in_the_current_term() -> None:
    renewed = renew(MARCH).contract  # 2027-01-01..2027-12-31

    with pytest.raises(EffectiveDateOutsideTerm):
        amend(renewed, "qt", date(2026, 12, 1), [set_seats(12)], new_ids)
    result = amend(renewed, "qt", date(2027, 2, 1), [set_seats(12)], new_ids)
    assert result.changes[0].quantity_before == 10


def test_amendments_apply_in_date_order() -> None:
    later = amend(MARCH, "qt_1", date(2026, 6, 1), [set_seats(12)], new_ids).contract

    with pytest.raises(AmendmentOutOfOrder, match="before its latest amendment"):
        amend(later, "qt_2", date(2026, 5, 31), [set_seats(14)], new_ids)
    same_day = amend(later, "qt_3", date(2026, 6, 1), [set_seats(14)], new_ids)
    (change,) = same_day.changes
    assert (change.quantity_before, change.quantity_after) == (12, 14)
    assert change.subscription.quantities == (
        QuantityChange(date(2026, 1, 1), 10), QuantityChange(date(2026, 6, 1), 14),
    )  # fmt: skip


def test_a_subscription_of_another_contract_is_refused() -> None:
    with pytest.raises(UnknownSubscription, match="sub_elsewhere"):
        amend(MARCH, "qt", date(2026, 3, 1), [set_seats(12, "sub_elsewhere")], new_ids)


def test_a_one_time_charge_cannot_change_after_its_day() -> None:
    with_fee = contract(date(2026, 1, 1), lines=[seat(), setup_fee()])

    with pytest.raises(SubscriptionNotAmendable, match="ended on 2026-01-01"):
        amend(with_fee, "qt", date(2026, 2, 1), [set_seats(2, "sub_setup")], new_ids)


def test_naming_a_subscription_twice_is_refused() -> None:
    with pytest.raises(InvalidQuote, match="twice"):
        amend(MARCH, "qt", date(2026, 3, 1), [set_seats(11), set_seats(12)], new_ids)


@pytest.mark.parametrize("status", [ContractStatus.TERMINATED, ContractStatus.EXPIRED])
def test_a_contract_that_ended_cannot_be_amended(status: ContractStatus) -> None:
    with pytest.raises(ContractNotActive, match=f"is {status.value}; cannot amend"):
        amend(replace(MARCH, status=status), "qt", date(2026, 3, 1), [set_seats(12)], new_ids)
