"""The billing worked examples of BILLING_RULES.md (W1..W17, F1's invoices), to the minor unit.

Each test drives the pure domain as the service does (driver.Biller): orders are
folded into subscriptions, runs bill what is due and number the documents. Lines
read as in the rules: `kind SKU qty q first..last days/nominal_days = amount`.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from billing.domain.schedule import BillingTiming
from driver import (
    Biller,
    all_lines,
    amendment_order,
    headers,
    item,
    lines,
    monthly_5000_x_10_from_march,
    new_order,
    renewal_order,
    termination_order,
)
from revline_pricing.calendar import term_end
from revline_pricing.proration import net_unit_price, span_amount


def test_w1_quarter_with_stubs_bills_17_of_92_days_then_full_quarters_then_75_of_92() -> None:
    biller = Biller()
    biller.order(
        new_order(
            "or_new",
            item(
                "sub_seat",
                "SEAT",
                unit_price=30000,
                quantity=2,
                start=date(2026, 1, 15),
                end=date(2027, 1, 14),
                period="quarter",
            ),
        )
    )

    issued = biller.run(date(2027, 1, 14))

    assert all_lines(issued) == [
        "recurring SEAT qty 2 2026-01-15..2026-01-31 17/92 = 11087",
        "recurring SEAT qty 2 2026-02-01..2026-04-30 89/89 = 60000",
        "recurring SEAT qty 2 2026-05-01..2026-07-31 92/92 = 60000",
        "recurring SEAT qty 2 2026-08-01..2026-10-31 92/92 = 60000",
        "recurring SEAT qty 2 2026-11-01..2027-01-14 75/92 = 48913",
    ]
    assert biller.run(date(2027, 6, 1)) == []


def test_w2_yearly_stub_and_a_leap_year_inside_a_full_year() -> None:
    biller = Biller()
    biller.order(
        new_order(
            "or_new",
            item(
                "sub_plan",
                "PLAN",
                unit_price=120000,
                quantity=1,
                start=date(2027, 6, 1),
                end=date(2029, 5, 31),
                period="year",
            ),
            bill_cycle_day=15,
        )
    )

    issued = biller.run(date(2029, 5, 31))

    assert all_lines(issued) == [
        "recurring PLAN qty 1 2027-06-01..2027-06-14 14/365 = 4603",
        "recurring PLAN qty 1 2027-06-15..2028-06-14 366/366 = 120000",
        "recurring PLAN qty 1 2028-06-15..2029-05-31 351/365 = 115397",
    ]


def _bcd_31_monthly(start: date, end: date) -> Biller:
    biller = Biller()
    biller.order(
        new_order(
            "or_new",
            item("sub_plan", "PLAN", unit_price=3100, quantity=1, start=start, end=end),
            bill_cycle_day=31,
        )
    )
    return biller


def test_w3_bcd_31_in_a_leap_year_clamps_to_29_february_then_back_to_31() -> None:
    biller = _bcd_31_monthly(date(2028, 2, 10), date(2028, 4, 30))

    issued = biller.run(date(2028, 4, 30))

    assert all_lines(issued) == [
        "recurring PLAN qty 1 2028-02-10..2028-02-28 19/29 = 2031",
        "recurring PLAN qty 1 2028-02-29..2028-03-30 31/31 = 3100",
        "recurring PLAN qty 1 2028-03-31..2028-04-29 30/30 = 3100",
        "recurring PLAN qty 1 2028-04-30..2028-04-30 1/31 = 100",
    ]


def test_w4_bcd_31_in_a_common_year_clamps_to_28_february_then_back_to_31() -> None:
    biller = _bcd_31_monthly(date(2027, 2, 10), date(2027, 4, 30))

    issued = biller.run(date(2027, 4, 30))

    assert all_lines(issued) == [
        "recurring PLAN qty 1 2027-02-10..2027-02-27 18/28 = 1993",
        "recurring PLAN qty 1 2027-02-28..2027-03-30 31/31 = 3100",
        "recurring PLAN qty 1 2027-03-31..2027-04-29 30/30 = 3100",
        "recurring PLAN qty 1 2027-04-30..2027-04-30 1/31 = 100",
    ]


def test_w5_discount_rounds_the_net_unit_price_once_before_multiplying() -> None:
    net = net_unit_price(1001, Decimal(50))

    assert net == 501
    assert span_amount(net, 3, 30, 30) == 1503  # not round(1501.5) = 1502
    assert net_unit_price(1999, Decimal("12.5")) == 1749


def test_w5_half_unit_stubs_multiply_first_and_round_half_up_once() -> None:
    assert span_amount(501, 1, 15, 30) == 251  # 250.5
    assert span_amount(4545, 1, 11, 90) == 556  # 555.5
    biller = Biller()
    biller.order(
        new_order(
            "or_new",
            item(
                "sub_a",
                "A",
                unit_price=501,
                quantity=1,
                start=date(2026, 4, 16),
                end=date(2026, 12, 31),
            ),
            item(
                "sub_b",
                "B",
                unit_price=4545,
                quantity=1,
                start=date(2026, 3, 21),
                end=date(2026, 12, 31),
                period="quarter",
            ),
        )
    )

    [(_, march)] = biller.run(date(2026, 3, 21))
    [(_, april)] = biller.run(date(2026, 4, 16))

    assert lines(march) == ["recurring B qty 1 2026-03-21..2026-03-31 11/90 = 556"]
    assert lines(april) == [
        "recurring B qty 1 2026-04-01..2026-06-30 91/91 = 4545",
        "recurring A qty 1 2026-04-16..2026-04-30 15/30 = 251",
    ]


def test_w6_jpy_has_no_decimals_net_8330_stub_9_of_90_days() -> None:
    net = net_unit_price(9800, Decimal(15))
    biller = Biller()
    biller.order(
        new_order(
            "or_new",
            item(
                "sub_plan",
                "PLAN",
                unit_price=net,
                quantity=4,
                start=date(2026, 2, 20),
                end=term_end(date(2026, 2, 20), 12),
                period="quarter",
            ),
            currency="JPY",
        )
    )

    issued = biller.run(date(2026, 3, 1))

    assert net == 8330
    assert all_lines(issued) == [
        "recurring PLAN qty 4 2026-02-20..2026-02-28 9/90 = 3332",
        "recurring PLAN qty 4 2026-03-01..2026-05-31 92/92 = 33320",
    ]
    assert issued[0][1].currency == "JPY"


def test_w7_kwd_has_three_decimals_net_11563_stub_21_of_30_days() -> None:
    net = net_unit_price(12500, Decimal("7.5"))
    biller = Biller()
    biller.order(
        new_order(
            "or_new",
            item(
                "sub_plan",
                "PLAN",
                unit_price=net,
                quantity=2,
                start=date(2026, 6, 10),
                end=term_end(date(2026, 6, 10), 12),
            ),
            currency="KWD",
        )
    )

    issued = biller.run(date(2026, 7, 1))

    assert net == 11563
    assert all_lines(issued) == [
        "recurring PLAN qty 2 2026-06-10..2026-06-30 21/30 = 16188",
        "recurring PLAN qty 2 2026-07-01..2026-07-31 31/31 = 23126",
    ]
    assert issued[0][1].currency == "KWD"


def _periods_billed_by_runs(timing: BillingTiming, runs: list[date]) -> list[list[str]]:
    biller = Biller()
    biller.order(
        new_order(
            "or_new",
            item(
                "sub_plan",
                "PLAN",
                unit_price=10000,
                quantity=1,
                start=date(2026, 1, 1),
                end=date(2026, 3, 31),
            ),
            timing=timing,
        )
    )
    return [all_lines(biller.run(as_of)) for as_of in runs]


W8_RUNS = [
    date(2026, 1, 1),
    date(2026, 1, 31),
    date(2026, 2, 1),
    date(2026, 3, 15),
    date(2026, 4, 1),
]


def test_w8_advance_bills_a_period_on_its_first_day() -> None:
    assert _periods_billed_by_runs("advance", W8_RUNS) == [
        ["recurring PLAN qty 1 2026-01-01..2026-01-31 31/31 = 10000"],
        [],
        ["recurring PLAN qty 1 2026-02-01..2026-02-28 28/28 = 10000"],
        ["recurring PLAN qty 1 2026-03-01..2026-03-31 31/31 = 10000"],
        [],
    ]


def test_w8_arrears_bills_a_period_the_day_after_its_last_day() -> None:
    assert _periods_billed_by_runs("arrears", W8_RUNS) == [
        [],
        [],
        ["recurring PLAN qty 1 2026-01-01..2026-01-31 31/31 = 10000"],
        ["recurring PLAN qty 1 2026-02-01..2026-02-28 28/28 = 10000"],
        ["recurring PLAN qty 1 2026-03-01..2026-03-31 31/31 = 10000"],
    ]


def test_w9_upgrade_mid_period_bills_a_proration_of_21_of_31_days() -> None:
    biller = monthly_5000_x_10_from_march()
    march = biller.run(date(2026, 3, 1))
    biller.order(
        amendment_order("or_up", date(2026, 3, 11), [(biller.subscriptions["sub_seat"], 15)])
    )

    upgrade = biller.run(date(2026, 3, 11))
    april = biller.run(date(2026, 4, 1))

    assert headers(march) == ["INV-000001 invoice 2026-03-01 due 2026-03-31 total 50000"]
    assert headers(upgrade) == ["INV-000002 invoice 2026-03-11 due 2026-04-10 total 16935"]
    assert all_lines(upgrade) == ["proration SEAT qty 5 2026-03-11..2026-03-31 21/31 = 16935"]
    assert headers(april) == ["INV-000003 invoice 2026-04-01 due 2026-05-01 total 75000"]
    assert all_lines(april) == ["recurring SEAT qty 15 2026-04-01..2026-04-30 30/30 = 75000"]


def test_w10_downgrade_mid_period_issues_a_credit_note_for_12_of_31_days() -> None:
    biller = monthly_5000_x_10_from_march()
    biller.run(date(2026, 3, 1))
    biller.order(
        amendment_order("or_down", date(2026, 3, 20), [(biller.subscriptions["sub_seat"], 7)])
    )

    downgrade = biller.run(date(2026, 3, 20))
    april = biller.run(date(2026, 4, 1))

    assert headers(downgrade) == ["CN-000001 credit_note 2026-03-20 total 5806"]
    assert all_lines(downgrade) == ["credit SEAT qty 3 2026-03-20..2026-03-31 12/31 = -5806"]
    assert headers(april) == ["INV-000002 invoice 2026-04-01 due 2026-05-01 total 35000"]
    assert all_lines(april) == ["recurring SEAT qty 7 2026-04-01..2026-04-30 30/30 = 35000"]


def test_w11_amendment_in_a_period_not_yet_billed_splits_it_into_two_recurring_lines() -> None:
    biller = monthly_5000_x_10_from_march("arrears")
    biller.order(
        amendment_order("or_up", date(2026, 3, 11), [(biller.subscriptions["sub_seat"], 15)])
    )

    issued = biller.run(date(2026, 4, 1))

    assert headers(issued) == ["INV-000001 invoice 2026-04-01 due 2026-05-01 total 66935"]
    assert all_lines(issued) == [
        "recurring SEAT qty 10 2026-03-01..2026-03-10 10/31 = 16129",
        "recurring SEAT qty 15 2026-03-11..2026-03-31 21/31 = 50806",
    ]


def test_w12_added_subscription_is_co_terminated_on_the_contract_bcd_grid() -> None:
    biller = Biller()
    biller.order(
        new_order(
            "or_new",
            item(
                "sub_plan",
                "PLAN",
                unit_price=100000,
                quantity=1,
                start=date(2026, 1, 1),
                end=date(2026, 12, 31),
                period="year",
            ),
        )
    )
    biller.run(date(2026, 1, 1))
    add = item(
        "sub_add",
        "ADD",
        unit_price=9000,
        quantity=1,
        start=date(2026, 5, 20),
        end=date(2026, 12, 31),
        period="quarter",
    )
    biller.order(
        amendment_order(
            "or_add", date(2026, 5, 20), [], added=[add], contract=biller.subscriptions["sub_plan"]
        )
    )

    runs = [
        date(2026, 5, 19),
        date(2026, 5, 20),
        date(2026, 5, 31),
        date(2026, 6, 1),
        date(2026, 9, 1),
        date(2026, 12, 1),
        date(2026, 12, 31),
    ]

    assert [all_lines(biller.run(as_of)) for as_of in runs] == [
        [],
        ["recurring ADD qty 1 2026-05-20..2026-05-31 12/92 = 1174"],
        [],
        ["recurring ADD qty 1 2026-06-01..2026-08-31 92/92 = 9000"],
        ["recurring ADD qty 1 2026-09-01..2026-11-30 91/91 = 9000"],
        ["recurring ADD qty 1 2026-12-01..2026-12-31 31/90 = 3100"],
        [],
    ]


def test_w13_termination_with_credit_issues_a_credit_note_for_122_of_365_days() -> None:
    biller = Biller()
    biller.order(
        new_order(
            "or_new",
            item(
                "sub_plan",
                "PLAN",
                unit_price=120000,
                quantity=2,
                start=date(2026, 1, 1),
                end=date(2026, 12, 31),
                period="year",
            ),
        )
    )
    year = biller.run(date(2026, 1, 1))
    termination = termination_order(
        "or_end", date(2026, 9, 1), [biller.subscriptions["sub_plan"]], credit_unused=True
    )
    biller.order(termination)

    credit = biller.run(date(2026, 9, 1))

    assert headers(year) == ["INV-000001 invoice 2026-01-01 due 2026-01-31 total 240000"]
    assert termination.contract_end_date == date(2026, 8, 31)
    assert headers(credit) == ["CN-000001 credit_note 2026-09-01 total 80219"]
    assert all_lines(credit) == ["credit PLAN qty 2 2026-09-01..2026-12-31 122/365 = -80219"]
    assert biller.run(date(2027, 1, 1)) == []


def _monthly_6100_terminated_16_june_without_credit(timing: BillingTiming) -> Biller:
    biller = Biller()
    biller.order(
        new_order(
            "or_new",
            item(
                "sub_plan",
                "PLAN",
                unit_price=6100,
                quantity=1,
                start=date(2026, 5, 1),
                end=date(2026, 12, 31),
            ),
            timing=timing,
        )
    )
    biller.run(date(2026, 6, 1))
    biller.order(
        termination_order(
            "or_end", date(2026, 6, 16), [biller.subscriptions["sub_plan"]], credit_unused=False
        )
    )
    return biller


def test_w14_termination_without_credit_in_advance_bills_no_line() -> None:
    biller = _monthly_6100_terminated_16_june_without_credit("advance")

    assert biller.run(date(2026, 6, 16)) == []
    assert biller.run(date(2026, 7, 1)) == []


def test_w14_termination_without_credit_in_arrears_bills_the_last_span_to_t() -> None:
    biller = _monthly_6100_terminated_16_june_without_credit("arrears")

    before_t = biller.run(date(2026, 6, 15))
    on_t = biller.run(date(2026, 6, 16))

    assert before_t == []
    assert all_lines(on_t) == ["recurring PLAN qty 1 2026-06-01..2026-06-15 15/30 = 3050"]
    assert biller.run(date(2026, 7, 1)) == []


def test_w15_renewal_splits_the_quarter_straddling_the_term_end_into_two_stubs() -> None:
    start = date(2026, 3, 15)
    end = term_end(start, 12)
    biller = Biller()
    biller.order(
        new_order(
            "or_new",
            item(
                "sub_plan",
                "PLAN",
                unit_price=30000,
                quantity=1,
                start=start,
                end=end,
                period="quarter",
            ),
        )
    )
    for as_of in (date(2026, 3, 15), date(2026, 4, 1), date(2026, 7, 1), date(2026, 10, 1)):
        biller.run(as_of)
    last_of_term = biller.run(date(2027, 1, 1))
    renewal_start = end + timedelta(days=1)
    renewal_end = term_end(renewal_start, 12)
    # The time-driven tick of 2027-03-14 renews before that day's bill run.
    biller.order(
        renewal_order("or_renew", renewal_start, renewal_end, [biller.subscriptions["sub_plan"]])
    )

    on_old_end = biller.run(date(2027, 3, 14))
    first_of_renewal = biller.run(date(2027, 3, 15))
    next_quarter = biller.run(date(2027, 4, 1))

    assert end == date(2027, 3, 14)
    assert (renewal_start, renewal_end) == (date(2027, 3, 15), date(2028, 3, 14))
    assert all_lines(last_of_term) == ["recurring PLAN qty 1 2027-01-01..2027-03-14 73/90 = 24333"]
    assert on_old_end == []
    assert all_lines(first_of_renewal) == [
        "recurring PLAN qty 1 2027-03-15..2027-03-31 17/90 = 5667"
    ]
    assert all_lines(next_quarter) == ["recurring PLAN qty 1 2027-04-01..2027-06-30 91/91 = 30000"]


def _monthly_2000_x_5_from_january() -> Biller:
    biller = Biller()
    biller.order(
        new_order(
            "or_new",
            item(
                "sub_seat",
                "SEAT",
                unit_price=2000,
                quantity=5,
                start=date(2026, 1, 1),
                end=date(2026, 12, 31),
            ),
        )
    )
    return biller


def test_w16_held_order_bills_nothing_until_released_then_both_months_on_one_invoice() -> None:
    biller = _monthly_2000_x_5_from_january()
    biller.hold("or_new")

    january = biller.run(date(2026, 1, 1))
    february = biller.run(date(2026, 2, 1))
    biller.release("or_new")  # 2026-02-10
    after_release = biller.run(date(2026, 2, 15))
    march = biller.run(date(2026, 3, 1))

    assert january == []
    assert february == []
    assert headers(after_release) == ["INV-000001 invoice 2026-02-15 due 2026-03-17 total 20000"]
    assert all_lines(after_release) == [
        "recurring SEAT qty 5 2026-01-01..2026-01-31 31/31 = 10000",
        "recurring SEAT qty 5 2026-02-01..2026-02-28 28/28 = 10000",
    ]
    assert headers(march) == ["INV-000002 invoice 2026-03-01 due 2026-03-31 total 10000"]
    assert all_lines(march) == ["recurring SEAT qty 5 2026-03-01..2026-03-31 31/31 = 10000"]


def test_w17_billing_date_override_bills_nothing_before_it_then_all_then_due() -> None:
    biller = _monthly_2000_x_5_from_january()
    biller.override("or_new", date(2026, 1, 20))

    new_year = biller.run(date(2026, 1, 1))
    on_override = biller.run(date(2026, 1, 20))
    february = biller.run(date(2026, 2, 1))

    assert new_year == []
    assert headers(on_override) == ["INV-000001 invoice 2026-01-20 due 2026-02-19 total 10000"]
    assert all_lines(on_override) == ["recurring SEAT qty 5 2026-01-01..2026-01-31 31/31 = 10000"]
    assert headers(february) == ["INV-000002 invoice 2026-02-01 due 2026-03-03 total 10000"]
    assert all_lines(february) == ["recurring SEAT qty 5 2026-02-01..2026-02-28 28/28 = 10000"]


def test_f1_full_scenario_invoices() -> None:
    start = date(2026, 1, 15)
    end = term_end(start, 12)
    seat_price = net_unit_price(5000, Decimal(10))
    biller = Biller()
    biller.order(
        new_order(
            "or_new",
            item("sub_seat", "SEAT", unit_price=seat_price, quantity=10, start=start, end=end),
            item(
                "sub_setup",
                "SETUP",
                unit_price=25000,
                quantity=1,
                start=start,
                end=end,
                charge_type="one_time",
            ),
        )
    )

    first = biller.run(date(2026, 1, 15))
    second = biller.run(date(2026, 2, 1))
    biller.order(
        amendment_order("or_amend", date(2026, 2, 16), [(biller.subscriptions["sub_seat"], 12)])
    )
    third = biller.run(date(2026, 3, 1))

    assert (seat_price, end) == (4500, date(2027, 1, 14))
    assert headers(first) == ["INV-000001 invoice 2026-01-15 due 2026-02-14 total 49677"]
    # Lines by period start, then sku: SEAT sorts before SETUP (BILLING_RULES.md 3).
    assert all_lines(first) == [
        "recurring SEAT qty 10 2026-01-15..2026-01-31 17/31 = 24677",
        "one_time SETUP qty 1 2026-01-15..2026-01-15 = 25000",
    ]
    assert headers(second) == ["INV-000002 invoice 2026-02-01 due 2026-03-03 total 45000"]
    assert all_lines(second) == ["recurring SEAT qty 10 2026-02-01..2026-02-28 28/28 = 45000"]
    assert headers(third) == ["INV-000003 invoice 2026-03-01 due 2026-03-31 total 58179"]
    assert all_lines(third) == [
        "proration SEAT qty 2 2026-02-16..2026-02-28 13/28 = 4179",
        "recurring SEAT qty 12 2026-03-01..2026-03-31 31/31 = 54000",
    ]
