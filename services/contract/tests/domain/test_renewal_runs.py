"""A renewal run as of a date renews auto-renewing contracts and expires the rest."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from contract.domain.contract import ContractStatus
from contract.domain.renewal_run import plan_renewal_run, renewals_due
from contract_factories import contract

W15 = contract(date(2026, 3, 15), 12, auto_renew=True, bill_cycle_day=1, contract_id="ct_w15")


def test_w15_renews_on_the_end_date_not_before() -> None:
    assert renewals_due(W15, date(2027, 3, 13)) == ()

    (renewal,) = renewals_due(W15, date(2027, 3, 14))

    assert (renewal.term.start, renewal.term.end) == (date(2027, 3, 15), date(2028, 3, 14))


def test_a_late_run_renews_term_after_term_until_the_end_is_past_as_of() -> None:
    monthly = contract(date(2026, 1, 1), 1, auto_renew=True)  # ends 2026-01-31

    renewals = renewals_due(monthly, date(2026, 4, 15))

    assert [(r.term.start, r.term.end) for r in renewals] == [
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 31)),
        (date(2026, 4, 1), date(2026, 4, 30)),
    ]
    assert renewals_due(renewals[-1].contract, date(2026, 4, 15)) == ()


def test_a_renewal_on_the_new_end_date_renews_again() -> None:
    monthly = contract(date(2026, 1, 1), 1, auto_renew=True)

    renewals = renewals_due(monthly, date(2026, 2, 28))

    assert [r.term.end for r in renewals] == [date(2026, 2, 28), date(2026, 3, 31)]


def test_a_contract_without_auto_renew_expires_the_day_after_its_end_date() -> None:
    fixed = contract(date(2026, 1, 1), 12, contract_id="ct_fixed")  # ends 2026-12-31

    on_last_day = plan_renewal_run([fixed], date(2026, 12, 31))
    after = plan_renewal_run([fixed], date(2027, 1, 1))

    assert (on_last_day.renewed_ids, on_last_day.expired_ids) == ([], [])
    assert (after.renewed_ids, after.expired_ids) == ([], ["ct_fixed"])


def test_a_run_leaves_ended_and_future_contracts_alone() -> None:
    terminated = replace(W15, id="ct_t", status=ContractStatus.TERMINATED)
    expired = replace(W15, id="ct_e", status=ContractStatus.EXPIRED, auto_renew=False)
    running = contract(date(2027, 1, 1), 12, contract_id="ct_running")

    plan = plan_renewal_run([terminated, expired, running], date(2027, 6, 1))

    assert (plan.renewed_ids, plan.expired_ids) == ([], [])


def test_a_plan_lists_contracts_in_id_order_whatever_the_input_order() -> None:
    a = contract(date(2026, 1, 1), 12, auto_renew=True, contract_id="ct_a")
    b = contract(date(2026, 1, 1), 12, contract_id="ct_b")
    c = contract(date(2026, 1, 1), 12, auto_renew=True, contract_id="ct_c")

    plan = plan_renewal_run([c, b, a], date(2027, 1, 1))

    assert (plan.renewed_ids, plan.expired_ids) == (["ct_a", "ct_c"], ["ct_b"])
