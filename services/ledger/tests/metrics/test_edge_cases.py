"""METRICS.md's edge cases, and the settings and refusals of the figures."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from ledger.metrics.calendar import Month, Period
from ledger.metrics.errors import InconsistentHistory, InvalidMetricQuery
from ledger.metrics.history import (
    ContractEnded,
    Fact,
    History,
    PricedLine,
    QuantityChanged,
    QuoteAccepted,
    QuoteCreated,
    QuotePresented,
    QuoteRejected,
    TermStarted,
)
from ledger.metrics.ltv import ltv
from ledger.metrics.movements import AccountMovement, ContractMove, MovementKind, movements
from ledger.metrics.mrr import mrr
from ledger.metrics.rate import Rate
from ledger.metrics.renewals import RenewalDue, renewals
from ledger.metrics.retention import retention
from ledger.metrics.sales import sales
from metrics_examples import EUR, LATER, D, at, line, m1_history

JAN, MAR, APR = Month(2025, 1), Month(2025, 3), Month(2025, 4)


def customer_x(*facts: Fact) -> History:
    """X: monthly 10000 from 2025-01-01 to 2025-03-31, then `facts`."""
    base = History(
        (
            TermStarted(at("2025-01-01"), "c-X", "X", EUR, D("2025-01-01"), D("2025-03-31")),
            line("X-1", "X", "c-X", "month", 10000, "2025-01-01", "2025-03-31"),
        )
    )
    return base.plus(*facts)


def moves_of(history: History, month: Month) -> tuple[AccountMovement, ...]:
    (result,) = movements(history, EUR, month, month, LATER)
    return result.accounts


def test_a_termination_effective_t_drops_mrr_on_t() -> None:
    history = customer_x(ContractEnded(at("2025-02-01"), "c-X", D("2025-02-09")))
    assert mrr(history, EUR, D("2025-02-09"), LATER).mrr == 10000
    assert mrr(history, EUR, D("2025-02-10"), LATER).mrr == 0


def test_a_contiguous_renewal_at_a_higher_price_is_expansion_on_its_first_day_not_churn() -> None:
    history = customer_x(
        TermStarted(at("2025-03-15"), "c-X", "X", EUR, D("2025-04-01"), D("2025-06-30")),
        line("X-2", "X", "c-X", "month", 12000, "2025-04-01", "2025-06-30"),
    )
    assert moves_of(history, APR) == (
        AccountMovement(
            "X", MovementKind.EXPANSION, 2000, 10000, 12000, (ContractMove("c-X", 10000, 12000),)
        ),
    )
    march = renewals(history, EUR, Period.of_month(MAR), LATER)
    assert (march.by_count, march.by_value) == (Rate(1, 1), Rate(144000, 120000))
    assert march.by_value.percent == Decimal("120.00")
    assert march.due == (RenewalDue("c-X", "X", D("2025-03-31"), 120000, "c-X", 144000),)


def test_a_renewal_under_another_contract_id_follows_the_renews_link() -> None:
    history = customer_x(
        TermStarted(
            at("2025-03-15"), "c-Y", "X", EUR, D("2025-04-01"), D("2025-06-30"), renews="c-X"
        ),
        line("Y-1", "X", "c-Y", "quarter", 24000, "2025-04-01", "2025-06-30"),
    )
    march = renewals(history, EUR, Period.of_month(MAR), LATER)
    assert march.due == (RenewalDue("c-X", "X", D("2025-03-31"), 120000, "c-Y", 96000),)
    assert moves_of(history, APR) == (
        AccountMovement(
            "X",
            MovementKind.CONTRACTION,
            2000,
            10000,
            8000,
            (ContractMove("c-X", 10000, 0), ContractMove("c-Y", 0, 8000)),
        ),
    )


def test_a_contract_terminated_before_its_end_date_is_churn_not_a_non_renewal() -> None:
    history = customer_x(ContractEnded(at("2025-02-01"), "c-X", D("2025-02-09")))
    march = renewals(history, EUR, Period.of_month(MAR), LATER)
    assert (march.by_count, march.due) == (Rate(0, 0), ())
    assert march.by_count.percent is None


def test_removing_one_contracts_line_is_contraction_and_the_last_is_churn() -> None:
    history = customer_x(
        TermStarted(at("2025-01-01"), "c-X2", "X", EUR, D("2025-01-01"), D("2025-12-31")),
        line("X2-1", "X", "c-X2", "month", 3000, "2025-01-01", "2025-12-31", quantity=2),
        QuantityChanged(at("2025-02-20"), "X2-1", D("2025-02-20"), 0),
    )
    assert moves_of(history, Month(2025, 2)) == (
        AccountMovement(
            "X", MovementKind.CONTRACTION, 6000, 16000, 10000, (ContractMove("c-X2", 6000, 0),)
        ),
    )
    assert moves_of(history, APR) == (
        AccountMovement("X", MovementKind.CHURN, 10000, 10000, 0, (ContractMove("c-X", 10000, 0),)),
    )


def test_a_customer_who_joins_and_leaves_inside_a_month_is_no_movement() -> None:
    history = History((line("Z-1", "Z", "c-Z", "month", 5000, "2025-01-05", "2025-01-20"),))
    assert mrr(history, EUR, D("2025-01-10"), LATER).customers == 1
    assert moves_of(history, JAN) == ()


def test_a_zero_priced_line_adds_nothing_and_makes_no_customer() -> None:
    history = customer_x(line("F-1", "F", "c-F", "year", 0, "2025-01-01", "2025-12-31"))
    figures = mrr(history, EUR, D("2025-01-31"), LATER)
    assert (figures.mrr, figures.customers, figures.arpa) == (10000, 1, 10000)
    assert mrr(History(), EUR, D("2025-01-31"), LATER).arpa is None


def test_of_two_quantity_changes_effective_the_same_day_the_later_recorded_wins() -> None:
    history = customer_x(
        QuantityChanged(at("2025-02-01"), "X-1", D("2025-02-10"), 3),
        QuantityChanged(at("2025-02-05"), "X-1", D("2025-02-10"), 2),
    )
    assert mrr(history, EUR, D("2025-02-10"), LATER).mrr == 20000
    assert mrr(history, EUR, D("2025-02-10"), datetime(2025, 2, 2, tzinfo=UTC)).mrr == 30000


def test_each_currency_is_apart_and_an_account_is_a_customer_in_each() -> None:
    history = customer_x(
        line("X-USD", "X", "c-XU", "month", 700, "2025-01-01", "2025-12-31", currency="USD")
    )
    assert mrr(history, "USD", D("2025-01-31"), LATER).mrr == 700
    assert mrr(history, EUR, D("2025-01-31"), LATER).mrr == 10000
    assert moves_of(history, APR) == (
        AccountMovement("X", MovementKind.CHURN, 10000, 10000, 0, (ContractMove("c-X", 10000, 0),)),
    )


def test_rates_round_half_up_to_two_decimals_and_have_no_percent_over_zero() -> None:
    assert Rate(1, 20000).percent == Decimal("0.01")  # 0.005% is a tie: away from zero
    assert Rate(-1, 20000).percent == Decimal("-0.01")
    assert Rate(1, 8).percent == Decimal("12.50")
    assert Rate(0, 0).percent is None


def pipeline() -> History:
    """New quotes: two won (cycles 20, 29 days), one lost, two open, a draft; an amendment lost."""
    m = PricedLine("month", 10000, 1)
    return History(
        (
            QuoteCreated(at("2025-01-01"), "q1", "P", EUR, "new", D("2025-01-01")),
            QuoteAccepted(at("2025-01-21"), "q1", D("2025-01-21"), (m,), 150000),
            QuoteCreated(at("2025-02-01"), "q2", "Q", EUR, "new", D("2025-02-01")),
            QuoteAccepted(
                at("2025-03-02"), "q2", D("2025-03-02"), (PricedLine("quarter", 60000, 1),), 300000
            ),
            QuoteCreated(at("2025-02-10"), "q3", "R", EUR, "new", D("2025-02-10")),
            QuoteRejected(at("2025-03-10"), "q3", D("2025-03-10")),
            QuoteCreated(at("2025-03-01"), "q4", "S", EUR, "new", D("2025-03-01")),
            QuotePresented(at("2025-03-05"), "q4", D("2025-03-05")),
            QuoteCreated(at("2025-03-01"), "q5", "T", EUR, "new", D("2025-03-01")),
            QuotePresented(at("2025-03-20"), "q5", D("2025-03-20")),
            QuoteCreated(at("2025-03-25"), "q6", "U", EUR, "new", D("2025-03-25")),
            QuoteCreated(at("2025-03-01"), "q7", "P", EUR, "amendment", D("2025-03-01")),
            QuoteRejected(at("2025-03-03"), "q7", D("2025-03-03")),
        )
    )


def test_win_rate_deal_size_cycle_and_pipeline_velocity() -> None:
    quarter = sales(pipeline(), EUR, Period(D("2025-01-01"), D("2025-03-31")), LATER)
    assert quarter.win_rates == {"new": Rate(2, 3), "amendment": Rate(0, 1), "renewal": Rate(0, 0)}
    assert [(b.quote_id, b.acv, b.tcv, b.cycle_days) for b in quarter.bookings] == [
        ("q1", 120000, 150000, 20),
        ("q2", 240000, 300000, 29),
    ]
    assert (quarter.average_acv, quarter.average_tcv) == (180000, 225000)
    assert (quarter.cycle_mean_days, quarter.cycle_median_days) == (
        Decimal("24.50"),
        Decimal("24.5"),
    )
    velocity = quarter.velocity
    assert (velocity.open_quotes, velocity.win_rate) == (2, Rate(2, 3))
    # 2 open x 2/3 x 180000 / 24.5 days = 9795.9 per day.
    assert velocity.per_day == 9796


def test_open_quotes_are_neither_won_nor_lost_and_bookings_count_on_acceptance() -> None:
    march = sales(pipeline(), EUR, Period.of_month(MAR), datetime(2025, 3, 6, tzinfo=UTC))
    assert march.win_rates["new"] == Rate(1, 1)  # q3 is rejected only on 03-10
    assert march.velocity.open_quotes == 1  # q4; q5 is presented on 03-20


def test_revenue_ltv_of_m1_in_april_with_and_without_a_margin() -> None:
    april = ltv(m1_history(), EUR, D("2025-04-30"), LATER)
    # Logo churn October to March: 0, 0, 0, 0, 1/3, 0; mean 1/18.
    assert [m.logo for m in april.churn_months][3:] == [Rate(0, 2), Rate(1, 3), Rate(0, 2)]
    assert (april.arpa, april.mean_logo_churn, april.value) == (57333, Fraction(1, 18), 1031994)
    margin = ltv(m1_history(), EUR, D("2025-04-30"), LATER, gross_margin=Decimal("0.8"))
    assert margin.value == 825595  # 57333 x 0.8 x 18 = 825595.2


def test_revenue_ltv_is_null_when_churn_is_zero() -> None:
    january = ltv(m1_history(), EUR, D("2025-01-31"), LATER)
    assert (january.arpa, january.mean_logo_churn, january.value) == (57778, Fraction(0), None)


def test_questions_that_can_never_be_right_are_refused() -> None:
    with pytest.raises(InvalidMetricQuery):
        retention(m1_history(), EUR, APR, LATER, months=0)
    with pytest.raises(InvalidMetricQuery):
        movements(m1_history(), EUR, APR, JAN, LATER)
    with pytest.raises(InvalidMetricQuery):
        Period(D("2025-02-01"), D("2025-01-31"))
    with pytest.raises(InvalidMetricQuery):
        ltv(m1_history(), EUR, D("2025-04-30"), LATER, gross_margin=Decimal("1.5"))
    with pytest.raises(InvalidMetricQuery):
        Month.parse("2025-13")


def test_a_fact_about_an_unknown_line_is_an_inconsistent_history() -> None:
    history = History((QuantityChanged(at("2025-01-01"), "nope", D("2025-01-01"), 2),))
    with pytest.raises(InconsistentHistory):
        mrr(history, EUR, D("2025-01-31"), LATER)
