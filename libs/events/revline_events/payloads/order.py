"""Events on `order.events`: one order per contract change, and its billing instructions."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from revline_events.catalogue import CATALOGUE, EventPayload
from revline_events.payloads.quote import BillingPeriod, BillingTiming, ChargeType

OrderKind = Literal["new", "amendment", "renewal", "termination"]


class OrderItem(EventPayload):
    """What changes for one subscription, with everything billing needs to bill it."""

    subscription_id: str
    sku: str
    name: str
    charge_type: ChargeType
    billing_period: BillingPeriod | None
    quantity_delta: int  # new quantity minus the one before (termination: -quantity)
    quantity: int  # the quantity in force from start_date
    unit_price: int  # minor units, per unit and billing period
    start_date: date
    end_date: date  # inclusive


@CATALOGUE.register("OrderActivated", 1)
class OrderActivated(EventPayload):
    """A contract change became an order that billing acts on from its effective date."""

    order_id: str
    contract_id: str
    account_id: str
    kind: OrderKind
    currency: str
    effective_date: date
    bill_cycle_day: int
    billing_timing: BillingTiming
    contract_end_date: date  # inclusive, after this change
    credit_unused: bool = False  # terminations: credit the unused part of billed spans
    items: list[OrderItem] = Field(default_factory=list)


@CATALOGUE.register("OrderBillingHeld", 1)
class OrderBillingHeld(EventPayload):
    """Billing of the order's items (and their adjustments) stops until released."""

    order_id: str
    account_id: str
    reason: str


@CATALOGUE.register("OrderBillingReleased", 1)
class OrderBillingReleased(EventPayload):
    """The hold is lifted; the next bill run bills everything then due."""

    order_id: str
    account_id: str


@CATALOGUE.register("OrderBillingDateOverridden", 1)
class OrderBillingDateOverridden(EventPayload):
    """The order's items bill on no run before `next_billing_date`."""

    order_id: str
    account_id: str
    next_billing_date: date
