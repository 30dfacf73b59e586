"""One order per contract change: its kind, effective date, items and deltas, to the day."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from order.domain.contract import Contract, Subscription
from order.domain.orders import (
    OrderItem,
    QuantityChange,
    amendment_order,
    new_business_order,
    renewal_order,
    termination_order,
)

# F1: SEAT x10 at net 4500 a month and SETUP x1 at 25000, 2026-01-15..2027-01-14, BCD 1.
SEAT = Subscription(
    subscription_id="sub_seat", sku="SEAT", name="Seat", charge_type="recurring",
    billing_period="month", quantity=10, unit_price=4500,
    start_date=date(2026, 1, 15), end_date=date(2027, 1, 14),
)  # fmt: skip
SETUP = Subscription(
    subscription_id="sub_setup", sku="SETUP", name="Setup", charge_type="one_time",
    billing_period=None, quantity=1, unit_price=25000,
    start_date=date(2026, 1, 15), end_date=date(2026, 1, 15),
)  # fmt: skip
F1 = Contract(
    contract_id="ct_f1", account_id="acme", currency="USD",
    start_date=date(2026, 1, 15), end_date=date(2027, 1, 14), bill_cycle_day=1,
    billing_timing="advance", status="active", subscriptions=(SEAT, SETUP),
)  # fmt: skip

# W9/W10: monthly, BCD 1, unit 5000, qty 10, the year 2026.
MONTHLY = Subscription(
    subscription_id="sub_m", sku="SEAT", name="Seat", charge_type="recurring",
    billing_period="month", quantity=10, unit_price=5000,
    start_date=date(2026, 1, 1), end_date=date(2026, 12, 31),
)  # fmt: skip
YEAR_2026 = Contract(
    contract_id="ct_2026", account_id="globex", currency="USD",
    start_date=date(2026, 1, 1), end_date=date(2026, 12, 31), bill_cycle_day=1,
    billing_timing="advance", status="active", subscriptions=(MONTHLY,),
)  # fmt: skip


def test_new_contract_orders_every_subscription_over_its_own_dates() -> None:
    order = new_business_order(F1)

    assert (order.kind, order.contract_id, order.account_id) == ("new", "ct_f1", "acme")
    assert order.effective_date == date(2026, 1, 15)
    assert (order.currency, order.bill_cycle_day, order.billing_timing) == ("USD", 1, "advance")
    assert order.contract_end_date == date(2027, 1, 14)
    assert order.credit_unused is False
    assert order.items == (
        OrderItem("sub_seat", "SEAT", "Seat", "recurring", "month", 10, 10, 4500,
                  date(2026, 1, 15), date(2027, 1, 14)),
        OrderItem("sub_setup", "SETUP", "Setup", "one_time", None, 1, 1, 25000,
                  date(2026, 1, 15), date(2026, 1, 15)),
    )  # fmt: skip


def test_new_contract_without_subscriptions_is_an_order_without_items() -> None:
    order = new_business_order(replace(F1, subscriptions=()))
    assert (order.kind, order.items) == ("new", ())


def test_upgrade_orders_the_extra_units_from_the_effective_date_to_the_end() -> None:
    # F1: effective 2026-02-16, SEAT 10 -> 12.
    change = QuantityChange(replace(SEAT, quantity=12), quantity_before=10, quantity_after=12)

    order = amendment_order(F1, date(2026, 2, 16), [change])

    assert (order.kind, order.effective_date) == ("amendment", date(2026, 2, 16))
    assert order.contract_end_date == date(2027, 1, 14)
    assert order.items == (
        OrderItem("sub_seat", "SEAT", "Seat", "recurring", "month", 2, 12, 4500,
                  date(2026, 2, 16), date(2027, 1, 14)),
    )  # fmt: skip


def test_downgrade_orders_a_negative_delta() -> None:
    # W10: E 2026-03-20, qty 10 -> 7.
    change = QuantityChange(replace(MONTHLY, quantity=7), quantity_before=10, quantity_after=7)

    (item,) = amendment_order(YEAR_2026, date(2026, 3, 20), [change]).items

    assert (item.quantity_delta, item.quantity, item.unit_price) == (-3, 7, 5000)
    assert (item.start_date, item.end_date) == (date(2026, 3, 20), date(2026, 12, 31))


def test_removing_a_subscription_orders_it_down_to_zero() -> None:
    change = QuantityChange(replace(MONTHLY, quantity=0), quantity_before=10, quantity_after=0)

    (item,) = amendment_order(YEAR_2026, date(2026, 7, 1), [change]).items

    assert (item.quantity_delta, item.quantity) == (-10, 0)
    assert (item.start_date, item.end_date) == (date(2026, 7, 1), date(2026, 12, 31))


def test_added_subscription_is_ordered_from_the_effective_date_to_the_contract_end() -> None:
    # W12: E 2026-05-20 adds ADD, quarterly, 9000, qty 1, co-terminated with the contract.
    added = Subscription(
        subscription_id="sub_add", sku="ADD", name="Add-on", charge_type="recurring",
        billing_period="quarter", quantity=1, unit_price=9000,
        start_date=date(2026, 5, 20), end_date=date(2026, 12, 31),
    )  # fmt: skip
    change = QuantityChange(added, quantity_before=0, quantity_after=1)

    order = amendment_order(YEAR_2026, date(2026, 5, 20), [change])

    assert order.items == (
        OrderItem("sub_add", "ADD", "Add-on", "recurring", "quarter", 1, 1, 9000,
                  date(2026, 5, 20), date(2026, 12, 31)),
    )  # fmt: skip
    assert (order.bill_cycle_day, order.billing_timing) == (1, "advance")


def test_amendment_keeps_the_order_of_its_changes() -> None:
    up = QuantityChange(replace(SEAT, quantity=15), quantity_before=10, quantity_after=15)
    off = QuantityChange(replace(SETUP, quantity=0), quantity_before=1, quantity_after=0)

    order = amendment_order(F1, date(2026, 6, 1), [up, off])

    assert [(i.subscription_id, i.quantity_delta) for i in order.items] == [
        ("sub_seat", 5), ("sub_setup", -1),
    ]  # fmt: skip


def test_renewal_orders_the_new_term_from_its_start_to_its_end() -> None:
    # W15: 2026-03-15..2027-03-14, quarterly 30000, BCD 1; renewed 2027-03-15..2028-03-14.
    quarterly = Subscription(
        subscription_id="sub_q", sku="PLAT", name="Platform", charge_type="recurring",
        billing_period="quarter", quantity=1, unit_price=30000,
        start_date=date(2026, 3, 15), end_date=date(2027, 3, 14),
    )  # fmt: skip
    contract = Contract(
        contract_id="ct_w15", account_id="initech", currency="USD",
        start_date=date(2026, 3, 15), end_date=date(2027, 3, 14), bill_cycle_day=1,
        billing_timing="advance", status="active", subscriptions=(quarterly,),
    )  # fmt: skip
    next_term = replace(quarterly, start_date=date(2027, 3, 15), end_date=date(2028, 3, 14))

    order = renewal_order(contract, date(2027, 3, 15), date(2028, 3, 14), [next_term])

    assert (order.kind, order.effective_date) == ("renewal", date(2027, 3, 15))
    assert order.contract_end_date == date(2028, 3, 14)
    assert (order.bill_cycle_day, order.billing_timing, order.currency) == (1, "advance", "USD")
    assert order.items == (
        OrderItem("sub_q", "PLAT", "Platform", "recurring", "quarter", 1, 1, 30000,
                  date(2027, 3, 15), date(2028, 3, 14)),
    )  # fmt: skip


def test_termination_with_credit_orders_every_unit_off_from_t_to_the_old_end() -> None:
    # W13: yearly, 120000 x 2, 2026; T 2026-09-01 with credit_unused.
    yearly = Subscription(
        subscription_id="sub_y", sku="PLAT", name="Platform", charge_type="recurring",
        billing_period="year", quantity=2, unit_price=120000,
        start_date=date(2026, 1, 1), end_date=date(2026, 12, 31),
    )  # fmt: skip
    contract = replace(YEAR_2026, subscriptions=(yearly,))

    order = termination_order(contract, date(2026, 9, 1), date(2026, 8, 31), credit_unused=True)

    assert (order.kind, order.effective_date) == ("termination", date(2026, 9, 1))
    assert order.contract_end_date == date(2026, 8, 31)
    assert order.credit_unused is True
    assert order.items == (
        OrderItem("sub_y", "PLAT", "Platform", "recurring", "year", -2, 0, 120000,
                  date(2026, 9, 1), date(2026, 12, 31)),
    )  # fmt: skip


def test_termination_without_credit_says_so() -> None:
    # W14: monthly 6100, T 2026-06-16, credit_unused false.
    monthly = replace(MONTHLY, quantity=1, unit_price=6100)
    contract = replace(YEAR_2026, subscriptions=(monthly,))

    order = termination_order(contract, date(2026, 6, 16), date(2026, 6, 15), credit_unused=False)

    assert order.credit_unused is False
    assert [(i.quantity_delta, i.start_date, i.end_date) for i in order.items] == [
        (-1, date(2026, 6, 16), date(2026, 12, 31)),
    ]  # fmt: skip


def test_termination_leaves_out_one_time_charges_and_what_no_longer_runs() -> None:
    removed = replace(MONTHLY, subscription_id="sub_removed", quantity=0)
    ended = replace(MONTHLY, subscription_id="sub_ended", end_date=date(2026, 4, 30))
    ends_the_day_before = replace(MONTHLY, subscription_id="sub_last", end_date=date(2026, 5, 31))
    runs_on_t = replace(MONTHLY, subscription_id="sub_runs", end_date=date(2026, 6, 1))
    contract = replace(
        F1, subscriptions=(SEAT, SETUP, removed, ended, ends_the_day_before, runs_on_t)
    )

    order = termination_order(contract, date(2026, 6, 1), date(2026, 5, 31), credit_unused=True)

    assert [(i.subscription_id, i.quantity_delta, i.end_date) for i in order.items] == [
        ("sub_seat", -10, date(2027, 1, 14)),
        ("sub_runs", -10, date(2026, 6, 1)),
    ]  # fmt: skip
