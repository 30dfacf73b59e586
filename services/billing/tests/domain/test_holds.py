"""Holds and overrides of several orders of one subscription (BILLING_RULES.md 6).

"Items of an order on hold (including its adjustment lines) are not billed": a
line is governed by every order behind its days, so a hold on the new order
still holds what an amendment changed, and a hold on the amendment holds its
proration and the periods at its quantity. The W9 subscription: month, BCD 1,
5000 x 10 from 2026-03-01, upgraded to 15 from 2026-03-11 by `or_up`.
"""

from __future__ import annotations

from datetime import date

from driver import Biller, all_lines, amendment_order, headers, monthly_5000_x_10_from_march

MARCH_1, MARCH_11, APRIL_1, MAY_1 = (date(2026, 3, 1), date(2026, 3, 11), date(2026, 4, 1),
                                     date(2026, 5, 1))  # fmt: skip
PRORATION = "proration SEAT qty 5 2026-03-11..2026-03-31 21/31 = 16935"
APRIL_AT_15 = "recurring SEAT qty 15 2026-04-01..2026-04-30 30/30 = 75000"
MAY_AT_15 = "recurring SEAT qty 15 2026-05-01..2026-05-31 31/31 = 75000"


def _upgraded_after_march_was_billed() -> Biller:
    biller = monthly_5000_x_10_from_march()
    assert headers(biller.run(MARCH_1)) == [
        "INV-000001 invoice 2026-03-01 due 2026-03-31 total 50000"
    ]
    seat_now = biller.subscriptions["sub_seat"]
    biller.order(amendment_order("or_up", MARCH_11, [(seat_now, 15)]))
    return biller


def test_a_hold_on_the_new_order_holds_the_amendment_and_the_periods_after_it() -> None:
    biller = _upgraded_after_march_was_billed()
    biller.hold("or_new")

    assert biller.run(MARCH_11) == []
    assert biller.run(APRIL_1) == []
    biller.release("or_new")
    assert all_lines(biller.run(APRIL_1)) == [PRORATION, APRIL_AT_15]


def test_a_hold_on_the_amendment_holds_its_proration_and_the_periods_at_its_quantity() -> None:
    biller = _upgraded_after_march_was_billed()
    biller.hold("or_up")

    assert biller.run(MARCH_11) == []
    assert biller.run(APRIL_1) == []
    biller.release("or_up")
    assert all_lines(biller.run(MAY_1)) == [PRORATION, APRIL_AT_15, MAY_AT_15]


def test_an_override_of_the_new_order_delays_what_the_amendment_changed() -> None:
    biller = _upgraded_after_march_was_billed()
    biller.override("or_new", date(2026, 4, 10))

    assert biller.run(APRIL_1) == []
    assert all_lines(biller.run(date(2026, 4, 10))) == [PRORATION, APRIL_AT_15]
    assert all_lines(biller.run(MAY_1)) == [MAY_AT_15]


def test_a_hold_on_the_amendment_leaves_the_days_before_it_to_bill() -> None:
    """Arrears: March bills at the quantities in force, split at the upgrade (W11); only
    the part behind the held amendment waits."""
    biller = monthly_5000_x_10_from_march("arrears")
    seat_now = biller.subscriptions["sub_seat"]
    biller.order(amendment_order("or_up", MARCH_11, [(seat_now, 15)]))
    biller.hold("or_up")

    assert all_lines(biller.run(APRIL_1)) == [
        "recurring SEAT qty 10 2026-03-01..2026-03-10 10/31 = 16129"
    ]
    biller.release("or_up")
    assert all_lines(biller.run(APRIL_1)) == [
        "recurring SEAT qty 15 2026-03-11..2026-03-31 21/31 = 50806"
    ]
