"""A voided invoice forgives its days: never billed again, never adjusted later
(BILLING_RULES.md 7: "its spans are not billed again").

The W9/W10 subscription (month, BCD 1, 5000 x 10 from 2026-03-01), with March's
invoice voided before an amendment inside March.
"""

from __future__ import annotations

from datetime import date

from driver import Biller, all_lines, amendment_order, headers, monthly_5000_x_10_from_march

MARCH_1, MARCH_20, APRIL_1 = date(2026, 3, 1), date(2026, 3, 20), date(2026, 4, 1)


def _march_billed_and_voided() -> Biller:
    biller = monthly_5000_x_10_from_march()
    assert headers(biller.run(MARCH_1)) == [
        "INV-000001 invoice 2026-03-01 due 2026-03-31 total 50000"
    ]
    biller.void("INV-000001")
    return biller


def _amend(biller: Biller, order_id: str, effective: date, quantity: int) -> None:
    seat = biller.subscriptions["sub_seat"]
    biller.order(amendment_order(order_id, effective, [(seat, quantity)]))


def test_a_voided_month_is_not_billed_again() -> None:
    biller = _march_billed_and_voided()

    assert biller.run(date(2026, 3, 15)) == []
    assert all_lines(biller.run(APRIL_1)) == [
        "recurring SEAT qty 10 2026-04-01..2026-04-30 30/30 = 50000"
    ]


def test_a_downgrade_inside_a_voided_month_credits_nothing() -> None:
    biller = _march_billed_and_voided()
    _amend(biller, "or_down", MARCH_20, 7)

    assert biller.run(MARCH_20) == []
    assert all_lines(biller.run(APRIL_1)) == [
        "recurring SEAT qty 7 2026-04-01..2026-04-30 30/30 = 35000"
    ]


def test_an_upgrade_inside_a_voided_month_prorates_nothing() -> None:
    biller = _march_billed_and_voided()
    _amend(biller, "or_up", date(2026, 3, 11), 15)

    assert biller.run(date(2026, 3, 11)) == []
    assert all_lines(biller.run(APRIL_1)) == [
        "recurring SEAT qty 15 2026-04-01..2026-04-30 30/30 = 75000"
    ]


def test_a_voided_proration_is_neither_billed_again_nor_credited_back() -> None:
    biller = monthly_5000_x_10_from_march()
    biller.run(MARCH_1)
    _amend(biller, "or_up", date(2026, 3, 11), 15)
    assert headers(biller.run(date(2026, 3, 11))) == [
        "INV-000002 invoice 2026-03-11 due 2026-04-10 total 16935"
    ]
    biller.void("INV-000002")

    assert biller.run(date(2026, 3, 15)) == []
    _amend(biller, "or_down", MARCH_20, 10)
    assert biller.run(MARCH_20) == []
    assert all_lines(biller.run(APRIL_1)) == [
        "recurring SEAT qty 10 2026-04-01..2026-04-30 30/30 = 50000"
    ]


def test_a_downgrade_outside_the_voided_days_is_still_credited() -> None:
    """The void of an April invoice leaves March's billed days open to adjustment (W10)."""
    biller = monthly_5000_x_10_from_march()
    biller.run(MARCH_1)
    biller.run(APRIL_1)
    biller.void("INV-000002")
    _amend(biller, "or_down", MARCH_20, 7)

    downgrade = biller.run(MARCH_20)

    assert headers(downgrade) == ["CN-000001 credit_note 2026-03-20 total 5806"]
    assert all_lines(downgrade) == ["credit SEAT qty 3 2026-03-20..2026-03-31 12/31 = -5806"]
