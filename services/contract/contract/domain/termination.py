"""Termination: service stops before the end of the term (BILLING_RULES.md section 5)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from revline_pricing.calendar import ONE_DAY

from contract.domain.contract import Contract, ContractStatus, Subscription
from contract.domain.errors import EffectiveDateOutsideTerm


@dataclass(frozen=True, slots=True)
class Termination:
    """A termination effective T (the first day without service); end_date = T - 1."""

    effective_date: date
    end_date: date
    credit_unused: bool
    subscriptions: tuple[Subscription, ...]  # as they end
    contract: Contract


def terminate(contract: Contract, effective_date: date, credit_unused: bool) -> Termination:
    """End the contract's service on the day before `effective_date` (T).

    T must lie in (start_date, end_date]: on the start date nothing would be served,
    after the end date there is nothing to stop. Every subscription ends on
    min(its end, T - 1). One that would start on or after T (added by an amendment
    effective later) never starts: it is listed with quantity 0 from its start date
    and end_date = start_date, so its dates stay a valid span with nothing to bill.
    W13: T 2026-09-01 -> end_date 2026-08-31.

    Raises ContractNotActive (terminated or expired already) and
    EffectiveDateOutsideTerm (field `effective_date`).
    """
    contract.ensure_active("terminate")
    if not contract.start_date < effective_date <= contract.end_date:
        raise EffectiveDateOutsideTerm(
            "effective_date",
            f"{effective_date} is not after the start {contract.start_date} and on or "
            f"before the end {contract.end_date} of contract {contract.id}",
        )
    end = effective_date - ONE_DAY
    ended = tuple(_ended(s, effective_date, end) for s in contract.subscriptions)
    after = replace(contract, status=ContractStatus.TERMINATED, end_date=end, subscriptions=ended)
    return Termination(effective_date, end, credit_unused, ended, after)


def _ended(subscription: Subscription, effective_date: date, end: date) -> Subscription:
    if subscription.start_date >= effective_date:
        cancelled = subscription.with_quantity(subscription.start_date, 0)
        return replace(cancelled, end_date=subscription.start_date)
    return replace(subscription, end_date=min(subscription.end_date, end))
