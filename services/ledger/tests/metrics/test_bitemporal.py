"""As known then and as corrected since: a termination recorded after a month's end but
effective inside it changes that month's churn as corrected, not as known at the month end."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from ledger.metrics.calendar import Month
from ledger.metrics.churn import churn
from ledger.metrics.history import ContractEnded, TermStarted
from ledger.metrics.movements import AccountMovement, ContractMove, MovementKind, movements
from ledger.metrics.mrr import mrr
from ledger.metrics.rate import Rate
from metrics_examples import EUR, D, at, line, m1_history

FEB = Month(2025, 2)
END_OF_FEBRUARY = datetime(2025, 3, 1, tzinfo=UTC)  # the end of 28 February
END_OF_MARCH = datetime(2025, 4, 1, tzinfo=UTC)

# M1 with a fourth customer, D, terminated effective 2025-02-10 (last day 02-09), which
# finance only recorded on 2025-03-05, after February was closed.
HISTORY = m1_history().plus(
    TermStarted(at("2024-11-01"), "c-D", "D", EUR, D("2024-11-01"), D("2025-10-31")),
    line("D-PLAN", "D", "c-D", "month", 30000, "2024-11-01", "2025-10-31"),
    ContractEnded(at("2025-03-05"), "c-D", D("2025-02-09")),
)


def test_a_late_termination_is_not_february_churn_as_known_at_the_end_of_february() -> None:
    (february,) = churn(HISTORY, EUR, FEB, FEB, END_OF_FEBRUARY)
    assert february.logo == Rate(1, 4)
    assert (february.gross_mrr, february.gross_mrr.percent) == (
        Rate(15000, 203333),
        Decimal("7.38"),
    )
    assert [m.account_id for m in february.accounts] == ["C"]
    assert mrr(HISTORY, EUR, FEB.last_day, END_OF_FEBRUARY).mrr == 208333


def test_the_late_termination_is_february_churn_as_corrected_since() -> None:
    (february,) = churn(HISTORY, EUR, FEB, FEB, END_OF_MARCH)
    assert february.logo == Rate(2, 4)
    assert (february.gross_mrr, february.gross_mrr.percent) == (
        Rate(45000, 203333),
        Decimal("22.13"),
    )
    assert february.accounts == (
        AccountMovement(
            "C", MovementKind.CHURN, 15000, 15000, 0, (ContractMove("c-C1", 15000, 0),)
        ),
        AccountMovement("D", MovementKind.CHURN, 30000, 30000, 0, (ContractMove("c-D", 30000, 0),)),
    )
    assert mrr(HISTORY, EUR, FEB.last_day, END_OF_MARCH).mrr == 178333


def test_march_as_known_at_its_end_has_no_movement_of_the_account_that_left_in_february() -> None:
    (march,) = movements(HISTORY, EUR, Month(2025, 3), Month(2025, 3), END_OF_MARCH)
    assert [m.account_id for m in march.accounts] == ["B"]
    assert march.mrr_before == 178333
