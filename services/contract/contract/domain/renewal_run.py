"""A renewal run as of a date: which contracts renew, which expire (BILLING_RULES.md §5)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from contract.domain.contract import Contract, ContractStatus
from contract.domain.errors import RenewalRunTooFarAhead
from contract.domain.renewal import Renewal, renew


@dataclass(frozen=True, slots=True)
class RenewalRunPlan:
    """What a run as of a date does: the renewals per contract, and the expiries."""

    as_of: date
    renewals: tuple[tuple[Contract, tuple[Renewal, ...]], ...]
    expired: tuple[Contract, ...]

    @property
    def renewed_ids(self) -> list[str]:
        """Ids of the contracts renewed (once each, however many terms), in id order."""
        return sorted(contract.id for contract, _ in self.renewals)

    @property
    def expired_ids(self) -> list[str]:
        """Ids of the contracts that expire, in id order."""
        return sorted(contract.id for contract in self.expired)


# The most terms one run renews a contract by: ten years of monthly terms.
MAX_TERMS_PER_RUN = 120


def renewals_due(contract: Contract, as_of: date) -> tuple[Renewal, ...]:
    """The terms an auto-renewing active contract gains by `as_of`.

    It renews on its end date (as_of >= end_date), and again while the new end
    is still on or before as_of, so afterwards end_date > as_of and a second run
    with the same as_of renews nothing. Each term keeps the current term's months.
    Empty for a contract that is not active, not auto-renewing, or not due.
    RenewalRunTooFarAhead past MAX_TERMS_PER_RUN terms (nothing is renewed then).
    """
    renewals: list[Renewal] = []
    current = contract
    while (
        current.status is ContractStatus.ACTIVE and current.auto_renew and current.end_date <= as_of
    ):
        if len(renewals) == MAX_TERMS_PER_RUN:
            raise RenewalRunTooFarAhead(contract.id, MAX_TERMS_PER_RUN)
        renewal = renew(current)
        renewals.append(renewal)
        current = renewal.contract
    return tuple(renewals)


def expires(contract: Contract, as_of: date) -> bool:
    """True when an active contract that does not auto-renew is past its end by `as_of`.

    Service runs through end_date inclusive, so a contract expires only when
    as_of > end_date; on its last day it is still active (and may be renewed).
    """
    return (
        contract.status is ContractStatus.ACTIVE
        and not contract.auto_renew
        and contract.end_date < as_of
    )


def plan_renewal_run(contracts: Iterable[Contract], as_of: date) -> RenewalRunPlan:
    """Renew every auto-renewing active contract due by `as_of`; expire the others past it.

    Contracts are taken in id order, so the plan does not depend on the input order.
    """
    renewals: list[tuple[Contract, tuple[Renewal, ...]]] = []
    expired: list[Contract] = []
    for contract in sorted(contracts, key=lambda c: c.id):
        due = renewals_due(contract, as_of)
        if due:
            renewals.append((contract, due))
        elif expires(contract, as_of):
            expired.append(contract)
    return RenewalRunPlan(as_of, tuple(renewals), tuple(expired))
