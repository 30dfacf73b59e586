"""Keep the read model of contracts current from contract.events (one transaction each)."""

from __future__ import annotations

from revline_events.catalogue import EventPayload
from revline_events.envelope import Envelope
from revline_events.payloads.contract import (
    ContractAmended,
    ContractCreated,
    ContractExpired,
    ContractRenewed,
    ContractTerminated,
)
from revline_events.unit_of_work import UnitOfWork

from quote.store import contracts


async def on_contract_created(uow: UnitOfWork, _envelope: Envelope, event: EventPayload) -> None:
    """A contract now exists: amendments and renewals may name it.

    Contract ids are derived from the accepted quote, so a contract service that
    rebuilt from quote.events announces a known contract again: nothing to do.
    """
    assert isinstance(event, ContractCreated)
    if await contracts.load(uow.session, event.contract_id) is not None:
        return
    await contracts.add_contract(
        uow.session,
        {
            "contract_id": event.contract_id,
            "account_id": event.account_id,
            "currency": event.currency,
            "status": "active",
            "start_date": event.start_date,
            "end_date": event.end_date,
            "bill_cycle_day": event.bill_cycle_day,
            "billing_timing": event.billing_timing,
        },
    )
    await contracts.put_subscriptions(uow.session, event.contract_id, event.subscriptions)


async def on_contract_amended(uow: UnitOfWork, _envelope: Envelope, event: EventPayload) -> None:
    """Quantities changed and subscriptions were added."""
    assert isinstance(event, ContractAmended)
    subscriptions = [change.subscription for change in event.changes]
    await contracts.put_subscriptions(uow.session, event.contract_id, subscriptions)


async def on_contract_renewed(uow: UnitOfWork, _envelope: Envelope, event: EventPayload) -> None:
    """The term now ends later."""
    assert isinstance(event, ContractRenewed)
    await contracts.set_contract(uow.session, event.contract_id, end_date=event.term_end)
    await contracts.put_subscriptions(uow.session, event.contract_id, event.subscriptions)


async def on_contract_terminated(uow: UnitOfWork, _envelope: Envelope, event: EventPayload) -> None:
    """No more amendments or renewals."""
    assert isinstance(event, ContractTerminated)
    await contracts.set_contract(
        uow.session, event.contract_id, status="terminated", end_date=event.end_date
    )


async def on_contract_expired(uow: UnitOfWork, _envelope: Envelope, event: EventPayload) -> None:
    """No more amendments or renewals."""
    assert isinstance(event, ContractExpired)
    await contracts.set_contract(uow.session, event.contract_id, status="expired")


HANDLERS = {
    "ContractCreated": on_contract_created,
    "ContractAmended": on_contract_amended,
    "ContractRenewed": on_contract_renewed,
    "ContractTerminated": on_contract_terminated,
    "ContractExpired": on_contract_expired,
}
