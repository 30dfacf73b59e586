"""Billing controls of an order: a hold, and a date before which nothing of it bills.

BILLING_RULES.md 6: items of a held order (and their adjustment lines) are
not billed until released; with an override D, no run before D bills them.
These rules decide whether a request changes anything; billing applies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from order.domain.errors import BillingAlreadyHeld, BillingNotHeld, OverrideBeforeEffectiveDate


@dataclass(frozen=True, slots=True)
class BillingControls:
    """An order's billing controls as they stand."""

    order_id: str
    effective_date: date
    held: bool
    next_billing_date_override: date | None


def hold(controls: BillingControls) -> None:
    """Allow a hold; raises BillingAlreadyHeld when the order is held already."""
    if controls.held:
        raise BillingAlreadyHeld(controls.order_id)


def release(controls: BillingControls) -> None:
    """Allow a release; raises BillingNotHeld when the order is not held."""
    if not controls.held:
        raise BillingNotHeld(controls.order_id)


def override_billing_date(controls: BillingControls, next_billing_date: date) -> bool:
    """Whether setting the next billing date to `next_billing_date` changes anything.

    False when it is the override in force already (nothing to record). A date
    before the order's effective date could never hold anything back: raises
    OverrideBeforeEffectiveDate. A later override replaces an earlier one, in
    either direction.
    """
    if next_billing_date < controls.effective_date:
        raise OverrideBeforeEffectiveDate(
            controls.order_id, next_billing_date, controls.effective_date
        )
    return next_billing_date != controls.next_billing_date_override
