"""One account's part of a bill run: due charges into documents (BILLING_RULES.md 3).

The same function bills a real run (handlers/bill_runs.py) and shows the
upcoming invoice (a preview that writes nothing), so a preview never differs
from what the run would produce.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from billing.domain.invoice import BillingDocument, documents
from billing.domain.planning import plan_due, plan_next_bill_date
from billing.domain.schedule import BilledCharge, Charge, OrderControl, Subscription


class BillRunStatus(StrEnum):
    """A run is running until every account it has to bill is billed."""

    RUNNING = "running"
    COMPLETED = "completed"


@dataclass(frozen=True, slots=True)
class BillRun:
    """A bill run as recorded: what it bills (everything due by `as_of`, of one account
    or of all when `account_id` is None), how far it got, and its stream's version."""

    bill_run_id: str
    as_of: date
    account_id: str | None
    status: BillRunStatus
    stream_version: int

    @property
    def completed(self) -> bool:
        """True once every account it had to bill is billed."""
        return self.status is BillRunStatus.COMPLETED


def charges_due(
    subscriptions: Iterable[Subscription],
    billed: Mapping[str, Sequence[BilledCharge]],
    controls: Mapping[str, OrderControl],
    as_of: date,
) -> list[Charge]:
    """Every charge a run as of `as_of` bills for these subscriptions.

    `billed` maps subscription id to every line billed for it so far; `controls`
    maps order id to its hold and override.
    """
    result: list[Charge] = []
    for subscription in subscriptions:
        result += plan_due(subscription, billed.get(subscription.subscription_id, ()), as_of,
                           controls)  # fmt: skip
    return result


def bill_account(
    subscriptions: Iterable[Subscription],
    billed: Mapping[str, Sequence[BilledCharge]],
    controls: Mapping[str, OrderControl],
    as_of: date,
    payment_terms_days: int,
) -> list[BillingDocument]:
    """The invoices and credit notes a run as of `as_of` issues for one account's
    subscriptions: one per currency, none when nothing is due."""
    charges = charges_due(subscriptions, billed, controls, as_of)
    return documents(charges, as_of, payment_terms_days)


def subscription_next_bill_date(
    subscription: Subscription,
    billed: Sequence[BilledCharge],
    controls: Mapping[str, OrderControl],
) -> date | None:
    """The first `as_of` on which a run bills something of `subscription` (None: nothing
    left to bill, or all of it on hold)."""
    return plan_next_bill_date(subscription, billed, controls)
