"""Keep the read model of contracts current from contract.events (one transaction each)."""

from __future__ import annotations

from collections.abc import Iterable

from revline_events.payloads.contract import (
    ContractAmended,
    ContractCreated,
    ContractExpired,
    ContractRenewed,
    ContractTerminated,
    SubscriptionData,
)
from revline_events.reactions import Reactions
from revline_events.received import Received
from revline_events.unit_of_work import UnitOfWork

from quote.domain.contract_fit import ContractSubscription, ContractView
from quote.store.contracts import ContractReadModel

REACTIONS = Reactions()


@REACTIONS.on(ContractCreated)
async def on_contract_created(received: Received[ContractCreated], uow: UnitOfWork) -> None:
    """A contract now exists: amendments and renewals may name it.

    Contract ids are derived from the accepted quote, so a contract service that
    rebuilt from quote.events announces a known contract again: nothing to do.
    """
    event = received.payload
    contracts = uow.repository(ContractReadModel)
    if await contracts.find(event.contract_id) is not None:
        return
    await contracts.add(
        ContractView(
            contract_id=event.contract_id,
            account_id=event.account_id,
            currency=event.currency,
            status="active",
            start_date=event.start_date,
            end_date=event.end_date,
            bill_cycle_day=event.bill_cycle_day,
            billing_timing=event.billing_timing,
            subscriptions={s.subscription_id: s for s in _subscriptions(event.subscriptions)},
        )
    )


@REACTIONS.on(ContractAmended)
async def on_contract_amended(received: Received[ContractAmended], uow: UnitOfWork) -> None:
    """Quantities changed and subscriptions were added."""
    event = received.payload
    subscriptions = _subscriptions(change.subscription for change in event.changes)
    await uow.repository(ContractReadModel).put_subscriptions(event.contract_id, subscriptions)


@REACTIONS.on(ContractRenewed)
async def on_contract_renewed(received: Received[ContractRenewed], uow: UnitOfWork) -> None:
    """The term now ends later."""
    event = received.payload
    contracts = uow.repository(ContractReadModel)
    await contracts.extend(event.contract_id, event.term_end)
    await contracts.put_subscriptions(event.contract_id, _subscriptions(event.subscriptions))


@REACTIONS.on(ContractTerminated)
async def on_contract_terminated(received: Received[ContractTerminated], uow: UnitOfWork) -> None:
    """No more amendments or renewals."""
    event = received.payload
    await uow.repository(ContractReadModel).terminate(event.contract_id, event.end_date)


@REACTIONS.on(ContractExpired)
async def on_contract_expired(received: Received[ContractExpired], uow: UnitOfWork) -> None:
    """No more amendments or renewals."""
    await uow.repository(ContractReadModel).expire(received.payload.contract_id)


def _subscriptions(published: Iterable[SubscriptionData]) -> list[ContractSubscription]:
    """What the quote service keeps of published subscriptions."""
    return [
        ContractSubscription(s.subscription_id, s.sku, s.unit_price, s.quantity) for s in published
    ]
