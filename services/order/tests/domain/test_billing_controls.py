"""Hold, release and billing-date override: which requests change anything (BILLING_RULES 6)."""

from __future__ import annotations

from datetime import date

import pytest
from order.domain.billing_controls import (
    BillingControls,
    hold,
    override_billing_date,
    release,
)
from order.domain.errors import (
    BillingAlreadyHeld,
    BillingNotHeld,
    OrderError,
    OverrideBeforeEffectiveDate,
)

ACTIVE = BillingControls(
    order_id="or_1", effective_date=date(2026, 1, 1), held=False, next_billing_date_override=None
)
HELD = BillingControls(
    order_id="or_1", effective_date=date(2026, 1, 1), held=True, next_billing_date_override=None
)


def test_an_order_not_on_hold_may_be_held() -> None:
    hold(ACTIVE)


def test_holding_a_held_order_is_refused() -> None:
    with pytest.raises(BillingAlreadyHeld, match="or_1 is already on hold"):
        hold(HELD)


def test_a_held_order_may_be_released() -> None:
    release(HELD)


def test_releasing_an_order_not_on_hold_is_refused() -> None:
    with pytest.raises(BillingNotHeld, match="or_1 is not on hold"):
        release(ACTIVE)


def test_w17_override_after_the_effective_date_is_a_change() -> None:
    assert override_billing_date(ACTIVE, date(2026, 1, 20)) is True


def test_override_on_the_effective_date_is_allowed() -> None:
    assert override_billing_date(ACTIVE, date(2026, 1, 1)) is True


def test_override_to_the_date_in_force_changes_nothing() -> None:
    current = BillingControls("or_1", date(2026, 1, 1), False, date(2026, 1, 20))
    assert override_billing_date(current, date(2026, 1, 20)) is False
    assert override_billing_date(current, date(2026, 1, 10)) is True
    assert override_billing_date(current, date(2026, 2, 10)) is True


def test_override_before_the_effective_date_is_refused_naming_the_field() -> None:
    with pytest.raises(OverrideBeforeEffectiveDate) as refused:
        override_billing_date(ACTIVE, date(2025, 12, 31))
    assert refused.value.field == "next_billing_date"
    assert refused.value.message == "must be on or after 2026-01-01"


def test_a_held_order_may_still_be_re_dated() -> None:
    assert override_billing_date(HELD, date(2026, 3, 1)) is True


def test_every_refusal_is_an_order_error() -> None:
    for error in (BillingAlreadyHeld, BillingNotHeld, OverrideBeforeEffectiveDate):
        assert issubclass(error, OrderError)
