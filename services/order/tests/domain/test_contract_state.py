"""The contract view is a fold of its orders: each order leaves it as the contract now is."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from order.domain.contract import Contract, QuantityFrom, Subscription
from order.domain.contract_state import contract_after
from order.domain.orders import (
    QuantityChange,
    amendment_order,
    new_business_order,
    renewal_order,
    termination_order,
)

SEAT = Subscription(
    subscription_id="sub_seat", sku="SEAT", name="Seat", charge_type="recurring",
    billing_period="month", quantity=10, unit_price=5000,
    start_date=date(2026, 1, 1), end_date=date(2026, 12, 31),
)  # fmt: skip
ADD = Subscription(
    subscription_id="sub_add", sku="ADD", name="Add-on", charge_type="recurring",
    billing_period="quarter", quantity=1, unit_price=9000,
    start_date=date(2026, 5, 20), end_date=date(2026, 12, 31),
)  # fmt: skip
CREATED = Contract(
    contract_id="ct_1", account_id="acme", currency="EUR",
    start_date=date(2026, 1, 1), end_date=date(2026, 12, 31), bill_cycle_day=1,
    billing_timing="arrears", status="active", subscriptions=(SEAT,),
)  # fmt: skip
SEAT_HELD = replace(SEAT, history=(QuantityFrom(date(2026, 1, 1), 10),))
KNOWN = contract_after(new_business_order(CREATED), None)


def _amend(
    contract: Contract, effective: date, sub: Subscription, before: int, after: int
) -> Contract:
    change = QuantityChange(replace(sub, quantity=after), before, after)
    return contract_after(amendment_order(contract, effective, [change]), contract)


def test_a_new_order_gives_the_contract_as_created_with_each_starting_quantity() -> None:
    assert replace(CREATED, subscriptions=(SEAT_HELD,)) == KNOWN


def test_an_amendment_sets_quantities_from_e_and_adds_subscriptions_at_the_end() -> None:
    changes = [
        QuantityChange(replace(SEAT, quantity=15), quantity_before=10, quantity_after=15),
        QuantityChange(ADD, quantity_before=0, quantity_after=1),
    ]
    order = amendment_order(KNOWN, date(2026, 5, 20), changes)

    after = contract_after(order, KNOWN)

    assert after == replace(CREATED, subscriptions=(
        replace(SEAT, quantity=15, history=(QuantityFrom(date(2026, 1, 1), 10),
                                            QuantityFrom(date(2026, 5, 20), 15))),
        replace(ADD, history=(QuantityFrom(date(2026, 5, 20), 1),)),
    ))  # fmt: skip
    (seat, _) = after.subscriptions
    assert [seat.quantity_on(d) for d in (date(2025, 12, 1), date(2026, 5, 19),
                                          date(2026, 5, 20), date(2027, 1, 1))] == [
        10, 10, 15, 15,
    ]  # fmt: skip


def test_a_second_amendment_on_the_same_day_replaces_the_first() -> None:
    once = _amend(KNOWN, date(2026, 3, 1), SEAT, 10, 12)
    twice = _amend(once, date(2026, 3, 1), SEAT, 10, 14)
    assert twice.subscriptions[0].history == (
        QuantityFrom(date(2026, 1, 1), 10), QuantityFrom(date(2026, 3, 1), 14),
    )  # fmt: skip


def test_a_removal_keeps_the_subscription_at_zero_from_e() -> None:
    after = _amend(KNOWN, date(2026, 3, 1), SEAT, 10, 0)
    (seat,) = after.subscriptions
    assert (seat.quantity, seat.quantity_on(date(2026, 2, 28))) == (0, 10)
    assert not seat.in_force_on(date(2026, 3, 1))
    assert seat.in_force_on(date(2026, 2, 28))


def test_a_termination_before_a_future_amendment_gives_up_the_quantity_on_t() -> None:
    upgraded = _amend(KNOWN, date(2026, 10, 1), SEAT, 10, 25)

    order = termination_order(upgraded, date(2026, 9, 1), date(2026, 8, 31), credit_unused=True)

    assert [(i.quantity_delta, i.quantity) for i in order.items] == [(-10, 0)]


def test_a_termination_before_a_future_removal_still_ends_the_subscription() -> None:
    removed_later = _amend(KNOWN, date(2026, 10, 1), SEAT, 10, 0)

    order = termination_order(removed_later, date(2026, 9, 1), date(2026, 8, 31), True)

    assert [(i.quantity_delta, i.start_date, i.end_date) for i in order.items] == [
        (-10, date(2026, 9, 1), date(2026, 12, 31)),
    ]  # fmt: skip


def test_a_renewal_replaces_the_subscriptions_by_the_new_terms_and_moves_the_end() -> None:
    next_seat = replace(SEAT, subscription_id="sub_seat_2027", quantity=12)
    order = renewal_order(KNOWN, date(2027, 1, 1), date(2027, 12, 31), [next_seat])

    after = contract_after(order, KNOWN)

    assert after.end_date == date(2027, 12, 31)
    assert after.start_date == date(2026, 1, 1)
    assert after.subscriptions == (
        replace(next_seat, start_date=date(2027, 1, 1), end_date=date(2027, 12, 31),
                history=(QuantityFrom(date(2027, 1, 1), 12),)),
    )  # fmt: skip


def test_a_termination_ends_the_contract_and_every_subscription_on_t_minus_one() -> None:
    already_over = replace(ADD, subscription_id="sub_short", end_date=date(2026, 6, 30))
    contract = replace(KNOWN, subscriptions=(SEAT_HELD, already_over))
    order = termination_order(contract, date(2026, 9, 1), date(2026, 8, 31), credit_unused=True)

    after = contract_after(order, contract)

    assert (after.status, after.end_date) == ("terminated", date(2026, 8, 31))
    assert [s.end_date for s in after.subscriptions] == [date(2026, 8, 31), date(2026, 6, 30)]
    assert [s.quantity for s in after.subscriptions] == [10, 1]


def test_a_change_to_a_contract_never_created_is_refused() -> None:
    order = termination_order(CREATED, date(2026, 9, 1), date(2026, 8, 31), credit_unused=False)
    with pytest.raises(ValueError, match="ct_1"):
        contract_after(order, None)
