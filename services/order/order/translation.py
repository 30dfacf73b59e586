"""Between the published language (event payloads) and the order domain.

Handlers read contract events through it, and write orders as OrderActivated;
the projector reads OrderActivated back as a domain Order.
"""

from __future__ import annotations

from revline_events.payloads.contract import (
    ContractAmended,
    ContractCreated,
    SubscriptionData,
)
from revline_events.payloads.order import OrderActivated
from revline_events.payloads.order import OrderItem as OrderItemData

from order.domain.contract import Contract, ContractStatus, Subscription
from order.domain.orders import Order, OrderItem, QuantityChange


def subscription_of(data: SubscriptionData) -> Subscription:
    """A subscription as a contract event describes it."""
    return Subscription(
        subscription_id=data.subscription_id,
        sku=data.sku,
        name=data.name,
        charge_type=data.charge_type,
        billing_period=data.billing_period,
        quantity=data.quantity,
        unit_price=data.unit_price,
        start_date=data.start_date,
        end_date=data.end_date,
    )


def contract_of(event: ContractCreated) -> Contract:
    """The contract a ContractCreated describes."""
    return Contract(
        contract_id=event.contract_id,
        account_id=event.account_id,
        currency=event.currency,
        start_date=event.start_date,
        end_date=event.end_date,
        bill_cycle_day=event.bill_cycle_day,
        billing_timing=event.billing_timing,
        status=ContractStatus.ACTIVE,
        subscriptions=tuple(subscription_of(s) for s in event.subscriptions),
    )


def changes_of(event: ContractAmended) -> list[QuantityChange]:
    """The quantity changes of a ContractAmended, in its order."""
    return [
        QuantityChange(
            subscription=subscription_of(change.subscription),
            quantity_before=change.quantity_before,
            quantity_after=change.quantity_after,
        )
        for change in event.changes
    ]


def order_activated(order_id: str, order: Order) -> OrderActivated:
    """The OrderActivated payload announcing `order` under `order_id`."""
    return OrderActivated(
        order_id=order_id,
        contract_id=order.contract_id,
        account_id=order.account_id,
        kind=order.kind,
        currency=order.currency,
        effective_date=order.effective_date,
        bill_cycle_day=order.bill_cycle_day,
        billing_timing=order.billing_timing,
        contract_end_date=order.contract_end_date,
        credit_unused=order.credit_unused,
        items=[
            OrderItemData(
                subscription_id=item.subscription_id,
                sku=item.sku,
                name=item.name,
                charge_type=item.charge_type,
                billing_period=item.billing_period,
                quantity_delta=item.quantity_delta,
                quantity=item.quantity,
                unit_price=item.unit_price,
                start_date=item.start_date,
                end_date=item.end_date,
            )
            for item in order.items
        ],
    )


def order_of(event: OrderActivated) -> Order:
    """The domain order an OrderActivated announced."""
    return Order(
        kind=event.kind,
        contract_id=event.contract_id,
        account_id=event.account_id,
        currency=event.currency,
        effective_date=event.effective_date,
        bill_cycle_day=event.bill_cycle_day,
        billing_timing=event.billing_timing,
        contract_end_date=event.contract_end_date,
        credit_unused=event.credit_unused,
        items=tuple(
            OrderItem(
                subscription_id=item.subscription_id,
                sku=item.sku,
                name=item.name,
                charge_type=item.charge_type,
                billing_period=item.billing_period,
                quantity_delta=item.quantity_delta,
                quantity=item.quantity,
                unit_price=item.unit_price,
                start_date=item.start_date,
                end_date=item.end_date,
            )
            for item in event.items
        ),
    )
