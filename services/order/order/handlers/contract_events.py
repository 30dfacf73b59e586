"""Reactions to contract.events: every contract change becomes exactly one order.

Each handler runs inside the consumer runner's unit of work (after its inbox
check, before its commit): it records OrderActivated, whose projection also
moves the service's view of the contract on. A handler never commits; a
business error it raises dead-letters the event. New contracts come as runs of
consecutive ContractCreated of one fetch (a batch reaction): their orders are
recorded at once, one insert per table; a contract created twice makes the
consumer apply the run one event at a time, so only that event is dead-lettered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from revline_events.payloads.contract import (
    ContractAmended,
    ContractCreated,
    ContractExpired,
    ContractRenewed,
    ContractTerminated,
)
from revline_events.reactions import Reactions
from revline_events.received import Received
from revline_events.stamping import NewStream
from revline_events.unit_of_work import UnitOfWork

from order.domain.contract import Contract
from order.domain.errors import ContractAlreadyCreated, UnknownContract
from order.domain.orders import (
    Order,
    amendment_order,
    new_business_order,
    renewal_order,
    termination_order,
)
from order.store.contracts import Contracts
from order.translation import changes_of, contract_of, order_activated, subscription_of

REACTIONS = Reactions()


@REACTIONS.on_batch(ContractCreated)
async def created(events: Sequence[Received[ContractCreated]], uow: UnitOfWork) -> None:
    """New contracts: a new-business order each, in order."""
    contract_ids = [event.payload.contract_id for event in events]
    seen = await uow.repository(Contracts).known(contract_ids)
    for contract_id in contract_ids:
        if contract_id in seen:
            raise ContractAlreadyCreated(contract_id)
        seen.add(contract_id)
    streams: list[NewStream] = []
    for event in events:
        order = new_business_order(contract_of(event.payload))
        # The kernel's ids sort in the order they were made: listing by id lists the
        # oldest first, as one at a time would.
        order_id = uow.new_id("or")
        streams.append(
            NewStream(
                stream_id=order_id,
                account_id=order.account_id,
                payload=order_activated(order_id, order),
                effective_date=order.effective_date,
                cause=event,
            )
        )
    await uow.record_new_streams(streams, cause=None)


@REACTIONS.on(ContractAmended)
async def amended(event: Received[ContractAmended], uow: UnitOfWork) -> None:
    """An amendment: an order of the quantity changes from its effective date."""
    contract = await _known(uow, event.payload.contract_id, event)
    order = amendment_order(contract, event.payload.effective_date, changes_of(event.payload))
    await _activate(uow, event, order)


@REACTIONS.on(ContractRenewed)
async def renewed(event: Received[ContractRenewed], uow: UnitOfWork) -> None:
    """A renewal: an order for the new term."""
    contract = await _known(uow, event.payload.contract_id, event)
    subscriptions = [subscription_of(s) for s in event.payload.subscriptions]
    order = renewal_order(contract, event.payload.term_start, event.payload.term_end, subscriptions)
    await _activate(uow, event, order)


@REACTIONS.on(ContractTerminated)
async def terminated(event: Received[ContractTerminated], uow: UnitOfWork) -> None:
    """A termination: an order ending the subscriptions early."""
    contract = await _known(uow, event.payload.contract_id, event)
    ended = event.payload
    order = termination_order(contract, ended.effective_date, ended.end_date, ended.credit_unused)
    await _activate(uow, event, order)


@REACTIONS.on(ContractExpired)
async def expired(event: Received[ContractExpired], uow: UnitOfWork) -> None:
    """No order: nothing changes for billing. The last order already carries the
    contract's end date, and nothing bills past it."""
    await _known(uow, event.payload.contract_id, event)


async def _activate(uow: UnitOfWork, cause: Received[Any], order: Order) -> None:
    # The kernel's ids sort in the order they were made, even within one millisecond:
    # listing orders by id lists the oldest first.
    order_id = uow.new_id("or")
    await uow.record(
        [order_activated(order_id, order)],
        stream_id=order_id,
        account_id=order.account_id,
        expected_version=0,
        cause=cause,
        effective_date=order.effective_date,
    )


async def _known(uow: UnitOfWork, contract_id: str, cause: Received[Any]) -> Contract:
    contract = await uow.repository(Contracts).load(contract_id)
    if contract is None:
        raise UnknownContract(contract_id, cause.type)
    return contract
