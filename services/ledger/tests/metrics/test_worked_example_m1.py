"""METRICS.md's worked example M1, every figure to the minor unit, one test per figure group."""

from __future__ import annotations

from decimal import Decimal

from ledger.metrics.calendar import Month, Period
from ledger.metrics.churn import churn
from ledger.metrics.movements import AccountMovement, ContractMove, MovementKind, movements
from ledger.metrics.mrr import AccountMrr, ContractMrr, mrr
from ledger.metrics.rate import Rate
from ledger.metrics.renewals import RenewalDue, renewals
from ledger.metrics.retention import CohortAccount, retention
from ledger.metrics.sales import Booking, sales
from metrics_examples import EUR, LATER, D, m1_history

M1 = m1_history()
DEC, JAN, FEB, MAR, APR = (
    Month(2024, 12),
    Month(2025, 1),
    Month(2025, 2),
    Month(2025, 3),
    Month(2025, 4),
)


def mrr_on(day: str) -> int:
    return mrr(M1, EUR, D(day), LATER).mrr


def test_m1_month_end_mrr_per_account_total_and_customers() -> None:
    table = {
        DEC: ({"B": 108333, "C": 15000}, 123333, 2),
        JAN: ({"A": 50000, "B": 108333, "C": 15000}, 173333, 3),
        FEB: ({"A": 70000, "B": 108333}, 178333, 2),
        MAR: ({"A": 70000, "B": 100000}, 170000, 2),
        APR: ({"A": 60000, "B": 100000, "C": 12000}, 172000, 3),
    }
    for month, (accounts, total, customers) in table.items():
        figures = mrr(M1, EUR, month.last_day, LATER)
        assert {a.account_id: a.mrr for a in figures.accounts} == accounts, month
        assert (figures.mrr, figures.customers) == (total, customers), month


def test_m1_b_mrr_is_each_line_rounded_once_then_added() -> None:
    b = mrr(M1, EUR, D("2025-01-31"), LATER).accounts[1]
    assert b == AccountMrr("B", 108333, (ContractMrr("c-B", 108333),))  # 100000 + 8333.33 -> 8333


def test_m1_day_level_mrr() -> None:
    assert (mrr_on("2025-01-09"), mrr_on("2025-01-10")) == (123333, 173333)
    c_on = {
        day: [a.mrr for a in mrr(M1, EUR, D(day), LATER).accounts if a.account_id == "C"]
        for day in ("2025-01-31", "2025-02-01")
    }
    assert c_on == {"2025-01-31": [15000], "2025-02-01": []}
    b_on = {
        day: [a.mrr for a in mrr(M1, EUR, D(day), LATER).accounts if a.account_id == "B"]
        for day in ("2025-03-19", "2025-03-20")
    }
    assert b_on == {"2025-03-19": [108333], "2025-03-20": [100000]}


def test_m1_movements_per_month() -> None:
    months = movements(M1, EUR, JAN, APR, LATER)
    got = [
        (m.month, m.new, m.expansion, m.reactivation, m.contraction, m.churn, m.net_change)
        for m in months
    ]
    assert got == [
        (JAN, 50000, 0, 0, 0, 0, 50000),
        (FEB, 0, 20000, 0, 0, 15000, 5000),
        (MAR, 0, 0, 0, 8333, 0, -8333),
        (APR, 0, 0, 12000, 10000, 0, 2000),
    ]
    for m in months:
        assert m.mrr_after - m.mrr_before == m.net_change
    assert months[3].accounts == (
        AccountMovement(
            "A", MovementKind.CONTRACTION, 10000, 70000, 60000, (ContractMove("c-A", 70000, 60000),)
        ),
        AccountMovement(
            "C", MovementKind.REACTIVATION, 12000, 0, 12000, (ContractMove("c-C2", 0, 12000),)
        ),
    )


def test_m1_logo_gross_and_net_mrr_churn() -> None:
    feb, mar, apr = churn(M1, EUR, FEB, APR, LATER)
    assert (feb.logo, feb.logo.percent) == (Rate(1, 3), Decimal("33.33"))
    assert (mar.logo, apr.logo) == (Rate(0, 2), Rate(0, 2))
    assert (feb.gross_mrr, feb.gross_mrr.percent) == (Rate(15000, 173333), Decimal("8.65"))
    assert (mar.gross_mrr, mar.gross_mrr.percent) == (Rate(8333, 178333), Decimal("4.67"))
    assert (apr.gross_mrr, apr.gross_mrr.percent) == (Rate(10000, 170000), Decimal("5.88"))
    assert (apr.net_mrr, apr.net_mrr.percent) == (Rate(-2000, 170000), Decimal("-1.18"))
    # Why did churn jump in February: the detail names C and its contract that expired.
    assert feb.accounts == (
        AccountMovement(
            "C", MovementKind.CHURN, 15000, 15000, 0, (ContractMove("c-C1", 15000, 0),)
        ),
    )


def test_m1_nrr_and_grr_over_three_months() -> None:
    figures = retention(M1, EUR, APR, LATER, months=3)
    assert figures.cohort == (
        CohortAccount("A", 50000, 60000),
        CohortAccount("B", 108333, 100000),
        CohortAccount("C", 15000, 12000),
    )
    assert (figures.nrr, figures.nrr.percent) == (Rate(172000, 173333), Decimal("99.23"))
    assert (figures.grr, figures.grr.percent) == (Rate(162000, 173333), Decimal("93.46"))


def test_m1_april_arr_and_arpa() -> None:
    april = mrr(M1, EUR, APR.last_day, LATER)
    assert (april.arr, april.arpa) == (2064000, 57333)


def test_m1_booking_acv_tcv_and_sales_cycle() -> None:
    january = sales(M1, EUR, Period.of_month(JAN), LATER)
    assert january.bookings == (Booking("q-A", "A", "new", D("2025-01-06"), 600000, 700000, 17),)
    assert (january.average_acv, january.average_tcv) == (600000, 700000)
    assert (january.cycle_mean_days, january.cycle_median_days) == (Decimal("17.00"), Decimal(17))
    assert january.win_rates["new"] == Rate(1, 1)


def test_m1_january_renewal_rate() -> None:
    january = renewals(M1, EUR, Period.of_month(JAN), LATER)
    assert (january.by_count, january.by_value) == (Rate(0, 1), Rate(0, 180000))
    assert january.due == (RenewalDue("c-C1", "C", D("2025-01-31"), 180000, None, 0),)
