"""Amendments: quantities set from an effective date, subscriptions added (BILLING_RULES §4)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date

from contract.domain.contract import (
    AmendmentRef,
    BillingPeriod,
    ChargeType,
    Contract,
    Subscription,
    new_subscription,
)
from contract.domain.errors import (
    AmendmentOutOfOrder,
    EffectiveDateOutsideTerm,
    InvalidQuote,
    SubscriptionNotAmendable,
    UnknownSubscription,
)


@dataclass(frozen=True, slots=True)
class AmendmentLine:
    """A line of an accepted amendment quote.

    With `subscription_id` it sets that subscription's quantity (0 removes it) and
    its price and product fields are ignored; without one it adds a subscription at
    `unit_price` (the quote line's net unit price).
    """

    sku: str
    name: str
    charge_type: ChargeType
    billing_period: BillingPeriod | None
    quantity: int
    unit_price: int
    subscription_id: str | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionChanged:
    """One subscription after an amendment, with its quantity before and after it."""

    subscription: Subscription
    quantity_before: int  # 0 for a subscription the amendment adds
    quantity_after: int


@dataclass(frozen=True, slots=True)
class Amendment:
    """What an amendment changes, and the contract after it."""

    quote_id: str
    effective_date: date
    changes: tuple[SubscriptionChanged, ...]
    contract: Contract


def amend(
    contract: Contract,
    quote_id: str,
    effective_date: date,
    lines: Sequence[AmendmentLine],
    new_id: Callable[[int], str],
) -> Amendment:
    """Apply an accepted amendment quote taking effect on `effective_date` (E).

    E is the first day at the new quantities. It must fall in the current term
    [term_start, end_date] and not before the contract's latest amendment, so
    amendments apply in date order. A line naming a subscription sets its quantity
    from E; its unit price stays. A line naming none adds a subscription from E at
    the line's price, co-terminated with the contract (a one-time charge: on E only);
    `new_id(index)` names it.

    Raises ContractNotActive, EffectiveDateOutsideTerm, AmendmentOutOfOrder,
    UnknownSubscription, SubscriptionNotAmendable (removed, or ended before E) and
    InvalidQuote (no lines, a subscription named twice, a negative quantity).
    """
    contract.ensure_active("amend")
    if not contract.term_start <= effective_date <= contract.end_date:
        raise EffectiveDateOutsideTerm(
            "start_date",
            f"effective date {effective_date} is outside the current term "
            f"{contract.term_start}..{contract.end_date} of contract {contract.id}",
        )
    if contract.amendments:
        latest = max(a.effective_date for a in contract.amendments)
        if effective_date < latest:
            raise AmendmentOutOfOrder(contract.id, effective_date, latest)
    if not lines:
        raise InvalidQuote("an amendment quote needs at least one line")
    named = [line.subscription_id for line in lines if line.subscription_id is not None]
    if len(named) != len(set(named)):
        raise InvalidQuote("an amendment names the same subscription twice")
    subscriptions = {s.id: s for s in contract.subscriptions}
    order = [s.id for s in contract.subscriptions]
    changes: list[SubscriptionChanged] = []
    for index, line in enumerate(lines):
        if line.subscription_id is None:
            added = new_subscription(
                new_id(index), line.sku, line.name, line.charge_type, line.billing_period,
                line.quantity, line.unit_price, start=effective_date,
                contract_end=contract.end_date,
            )  # fmt: skip
            subscriptions[added.id] = added
            order.append(added.id)
            changes.append(SubscriptionChanged(added, 0, line.quantity))
            continue
        current = subscriptions.get(line.subscription_id)
        if current is None:
            raise UnknownSubscription(contract.id, line.subscription_id)
        _check_amendable(current, effective_date, line.quantity)
        before = current.quantity_on(effective_date)
        changed = current.with_quantity(effective_date, line.quantity)
        subscriptions[changed.id] = changed
        changes.append(SubscriptionChanged(changed, before, line.quantity))
    after = replace(
        contract,
        subscriptions=tuple(subscriptions[i] for i in order),
        amendments=(*contract.amendments, AmendmentRef(quote_id, effective_date)),
    )
    return Amendment(quote_id, effective_date, tuple(changes), after)


def _check_amendable(subscription: Subscription, effective_date: date, quantity: int) -> None:
    if quantity < 0:
        raise InvalidQuote(f"subscription {subscription.id}: quantity {quantity} is negative")
    if subscription.is_removed:
        raise SubscriptionNotAmendable(subscription.id, "was removed")
    if effective_date > subscription.end_date:
        raise SubscriptionNotAmendable(
            subscription.id, f"ended on {subscription.end_date}, before {effective_date}"
        )
