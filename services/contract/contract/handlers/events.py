"""From domain results to the published payloads of contract.events."""

from __future__ import annotations

from revline_events.payloads.contract import SubscriptionData

from contract.domain.contract import Subscription


def subscription_data(subscription: Subscription, quantity: int | None = None) -> SubscriptionData:
    """The published form of a subscription; quantity defaults to the one in force at its end."""
    return SubscriptionData(
        subscription_id=subscription.id,
        sku=subscription.sku,
        name=subscription.name,
        charge_type=subscription.charge_type,
        billing_period=subscription.billing_period,
        quantity=subscription.quantity_on(subscription.end_date) if quantity is None else quantity,
        unit_price=subscription.unit_price,
        start_date=subscription.start_date,
        end_date=subscription.end_date,
    )
