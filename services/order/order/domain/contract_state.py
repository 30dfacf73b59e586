"""The contract as each order leaves it: a fold of the orders of one contract.

The order service keeps no copy of contract events: every contract change it
handles becomes exactly one order, and each order says all it changed. So the
contract view is `contract_after(order, before)` over the contract's orders,
and a rebuild from the service's own event store restores it exactly.
"""

from __future__ import annotations

from dataclasses import replace

from order.domain.contract import Contract, ContractStatus, QuantityFrom, Subscription
from order.domain.orders import Order, OrderItem


def _subscription(item: OrderItem) -> Subscription:
    return Subscription(
        subscription_id=item.subscription_id,
        sku=item.sku,
        name=item.name,
        charge_type=item.charge_type,
        billing_period=item.billing_period,
        quantity=item.quantity,
        unit_price=item.unit_price,
        start_date=item.start_date,
        end_date=item.end_date,
        history=(QuantityFrom(item.start_date, item.quantity),),
    )


def contract_after(order: Order, before: Contract | None) -> Contract:
    """The contract once `order` is in force.

    new: the contract as created. amendment: each item sets its subscription's
    quantity from the effective date E on (replacing any change dated E or
    later: amendments apply in date order), its unit price and its end; an
    unknown subscription joins from E. renewal: the new term's subscriptions replace the old
    ones and the end moves to the term's end. termination: the end becomes
    T - 1, and no subscription runs past it. Raises ValueError when an order
    other than `new` has no contract before it.
    """
    if order.kind == "new":
        return Contract(
            contract_id=order.contract_id,
            account_id=order.account_id,
            currency=order.currency,
            start_date=order.effective_date,
            end_date=order.contract_end_date,
            bill_cycle_day=order.bill_cycle_day,
            billing_timing=order.billing_timing,
            status=ContractStatus.ACTIVE,
            subscriptions=tuple(_subscription(item) for item in order.items),
        )
    if before is None:
        raise ValueError(f"{order.kind} order of contract {order.contract_id} before any contract")
    if order.kind == "amendment":
        return replace(before, subscriptions=_amended(before.subscriptions, order.items))
    if order.kind == "renewal":
        return replace(
            before,
            end_date=order.contract_end_date,
            status=ContractStatus.ACTIVE,
            subscriptions=tuple(_subscription(item) for item in order.items),
        )
    end = order.contract_end_date
    return replace(
        before,
        end_date=end,
        status=ContractStatus.TERMINATED,
        subscriptions=tuple(
            replace(s, end_date=min(s.end_date, end)) for s in before.subscriptions
        ),
    )


def _amended(
    subscriptions: tuple[Subscription, ...], items: tuple[OrderItem, ...]
) -> tuple[Subscription, ...]:
    by_id = {s.subscription_id: s for s in subscriptions}
    for item in items:
        known = by_id.get(item.subscription_id)
        if known is None:
            by_id[item.subscription_id] = _subscription(item)
        else:
            earlier = tuple(h for h in known.history if h.from_date < item.start_date)
            by_id[item.subscription_id] = replace(
                known,
                quantity=item.quantity,
                unit_price=item.unit_price,
                end_date=item.end_date,
                history=(*earlier, QuantityFrom(item.start_date, item.quantity)),
            )
    return tuple(by_id.values())
