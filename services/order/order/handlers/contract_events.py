"""Reactions to contract.events: every contract change becomes exactly one order.

Each handler runs inside the consumer runner's unit of work (after its inbox
check, before its commit): it records OrderActivated, whose projection also
moves the service's view of the contract on. A handler never commits; a
business error it raises dead-letters the event.
"""

from __future__ import annotations

from revline_events.catalogue import make_envelope
from revline_events.clock import Clock
from revline_events.consumer import Handler, reacting_to
from revline_events.envelope import Envelope
from revline_events.payloads.contract import (
    ContractAmended,
    ContractCreated,
    ContractExpired,
    ContractRenewed,
    ContractTerminated,
)
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
from order.handlers.order_ids import OrderIds
from order.store.contracts import load_contract
from order.translation import changes_of, contract_of, order_activated, subscription_of

SERVICE = "order"


def contract_event_handlers(clock: Clock) -> dict[str, Handler]:
    """The consumer's handlers by contract event type; orders are stamped by `clock`."""
    ids = OrderIds(clock)

    async def activate(uow: UnitOfWork, cause: Envelope, order: Order) -> None:
        order_id = ids.next()
        envelope = make_envelope(
            order_activated(order_id, order),
            stream_id=order_id,
            stream_version=1,
            account_id=order.account_id,
            producer=SERVICE,
            clock=clock,
            correlation_id=cause.correlation_id,
            causation_id=cause.event_id,
            effective_date=order.effective_date,
        )
        await uow.record([envelope], expected_version=0)

    async def created(uow: UnitOfWork, envelope: Envelope, event: ContractCreated) -> None:
        if await load_contract(uow.session, event.contract_id) is not None:
            raise ContractAlreadyCreated(event.contract_id)
        await activate(uow, envelope, new_business_order(contract_of(event)))

    async def amended(uow: UnitOfWork, envelope: Envelope, event: ContractAmended) -> None:
        contract = await _known(uow, event.contract_id, envelope)
        order = amendment_order(contract, event.effective_date, changes_of(event))
        await activate(uow, envelope, order)

    async def renewed(uow: UnitOfWork, envelope: Envelope, event: ContractRenewed) -> None:
        contract = await _known(uow, event.contract_id, envelope)
        subscriptions = [subscription_of(s) for s in event.subscriptions]
        order = renewal_order(contract, event.term_start, event.term_end, subscriptions)
        await activate(uow, envelope, order)

    async def terminated(uow: UnitOfWork, envelope: Envelope, event: ContractTerminated) -> None:
        contract = await _known(uow, event.contract_id, envelope)
        order = termination_order(
            contract, event.effective_date, event.end_date, event.credit_unused
        )
        await activate(uow, envelope, order)

    async def expired(uow: UnitOfWork, envelope: Envelope, event: ContractExpired) -> None:
        # No order: nothing changes for billing. The last order already carries
        # the contract's end date, and nothing bills past it.
        await _known(uow, event.contract_id, envelope)

    return {
        "ContractCreated": reacting_to(ContractCreated, created),
        "ContractAmended": reacting_to(ContractAmended, amended),
        "ContractRenewed": reacting_to(ContractRenewed, renewed),
        "ContractTerminated": reacting_to(ContractTerminated, terminated),
        "ContractExpired": reacting_to(ContractExpired, expired),
    }


async def _known(uow: UnitOfWork, contract_id: str, envelope: Envelope) -> Contract:
    contract = await load_contract(uow.session, contract_id)
    if contract is None:
        raise UnknownContract(contract_id, envelope.type)
    return contract
