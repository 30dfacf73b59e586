"""A renewal run as of a date: renew what auto-renews, expire the rest that has ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from revline_events.payloads.contract import (
    ContractExpired,
    ContractRenewed,
    RenewalRunCompleted,
)
from revline_events.unit_of_work import UnitOfWork
from revline_pricing.calendar import ONE_DAY

from contract.domain.errors import ContractError
from contract.domain.renewal_run import plan_renewal_run
from contract.handlers.events import subscription_data
from contract.store.repository import Contracts

# The account id that keys renewal-run records on contract.events (they belong to no customer).
RENEWAL_RUN_ACCOUNT = "renewal-runs"


@dataclass(frozen=True)
class RenewalRunResult:
    """What one run did: contract ids renewed and expired, in id order."""

    id: str
    as_of: date
    renewed: list[str]
    expired: list[str]


async def run_renewals(uow: UnitOfWork, as_of: date) -> RenewalRunResult:
    """Renew every active auto-renewing contract whose end_date <= as_of (again while the
    new end is still <= as_of), and expire the other active contracts whose end_date < as_of.

    Each contract's events go on its own stream; the run itself is recorded as
    RenewalRunCompleted on its own stream, even when it changed nothing. Reads only
    `as_of`, never the clock, for business dates (the clock stamps the run's id and events).
    """
    contracts = uow.repository(Contracts)
    due = await contracts.load_many(await contracts.due_for_renewal_run(as_of), for_update=True)
    plan = plan_renewal_run(due, as_of)
    for contract, renewals in plan.renewals:
        # Term after term in one append: a run far ahead (a typo'd year) renews hundreds
        # of terms per contract, and one statement round per term took seconds.
        await uow.record_dated(
            [(ContractRenewed(
                contract_id=contract.id,
                account_id=contract.account_id,
                quote_id=None,
                term_start=renewal.term.start,
                term_end=renewal.term.end,
                term_months=renewal.term.months,
                previous_end_date=renewal.previous_end_date,
                subscriptions=[subscription_data(s) for s in renewal.subscriptions],
            ), renewal.term.start) for renewal in renewals],
            stream_id=contract.id, account_id=contract.account_id,
            expected_version=contract.version, cause=None,
        )  # fmt: skip
    for contract in plan.expired:
        expired = ContractExpired(
            contract_id=contract.id, account_id=contract.account_id, end_date=contract.end_date
        )
        await uow.record(
            [expired], stream_id=contract.id, account_id=contract.account_id,
            expected_version=contract.version, cause=None,
            effective_date=contract.end_date + ONE_DAY,
        )  # fmt: skip
    run_id = uow.new_id("rr")
    completed = RenewalRunCompleted(
        run_id=run_id, as_of=as_of, renewed=plan.renewed_ids, expired=plan.expired_ids
    )
    await uow.record(
        [completed], stream_id=run_id, account_id=RENEWAL_RUN_ACCOUNT, expected_version=0,
        cause=None, effective_date=as_of,
    )  # fmt: skip
    return RenewalRunResult(run_id, as_of, plan.renewed_ids, plan.expired_ids)


class UnknownRenewalRun(ContractError):
    """No renewal run has this id."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"no renewal run {run_id}")
        self.run_id = run_id
