"""Folds the contract service's own events into its projection tables.

The only code that writes projections: commands, consumed quotes and rebuilds all
go through it, so the tables are always a pure function of the event store. It
never reads the clock: "today's" quantities are computed when a contract is read.

`PROJECTOR` takes one event or a batch: a run of consecutive ContractCreated (the
consumer's batches of accepted quotes, a rebuild) is written with one insert per
table; any other event is applied on its own, in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from revline_events.catalogue import EventPayload
from revline_events.envelope import Envelope
from revline_events.payloads.contract import (
    ContractAmended,
    ContractCreated,
    ContractExpired,
    ContractRenewed,
    ContractTerminated,
    RenewalRunCompleted,
    SubscriptionData,
)
from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contract.domain.contract import ContractStatus
from contract.store.tables import (
    contract_amendments,
    contract_renewals,
    contracts,
    renewal_runs,
    subscription_quantities,
    subscriptions,
)


async def project(session: AsyncSession, envelope: Envelope, event: EventPayload) -> None:
    """Apply one contract-service event to the projections."""
    at = envelope.occurred_at
    if isinstance(event, RenewalRunCompleted):
        await session.execute(
            insert(renewal_runs).values(
                id=event.run_id, as_of=event.as_of, renewed=list(event.renewed),
                expired=list(event.expired), created_at=at,
            )
        )  # fmt: skip
        return
    if isinstance(event, ContractCreated):
        await _created(session, event, envelope.stream_version, at)
        return
    if isinstance(event, ContractAmended):
        await _amended(session, event)
        contract_id = event.contract_id
    elif isinstance(event, ContractRenewed):
        await _renewed(session, event)
        contract_id = event.contract_id
    elif isinstance(event, ContractTerminated):
        await _terminated(session, event)
        contract_id = event.contract_id
    elif isinstance(event, ContractExpired):
        contract_id = event.contract_id
        await session.execute(
            update(contracts)
            .where(contracts.c.id == contract_id)
            .values(status=ContractStatus.EXPIRED)
        )
    else:
        return
    await session.execute(
        update(contracts)
        .where(contracts.c.id == contract_id)
        .values(stream_version=envelope.stream_version, updated_at=at)
    )


class ContractProjector:
    """`project`, plus a batch path for runs of new contracts (a `BatchProjector`)."""

    async def __call__(
        self, session: AsyncSession, envelope: Envelope, event: EventPayload
    ) -> None:
        """Apply one event (`project`)."""
        await project(session, envelope, event)

    async def project_batch(
        self, session: AsyncSession, items: Sequence[tuple[Envelope, EventPayload]]
    ) -> None:
        """Apply the events in order, each run of consecutive ContractCreated at once,
        with the effect of `project` applied to each in turn."""
        created: list[tuple[Envelope, ContractCreated]] = []
        for envelope, event in items:
            if isinstance(event, ContractCreated):
                created.append((envelope, event))
                continue
            await _many_created(session, created)
            created = []
            await project(session, envelope, event)
        await _many_created(session, created)


PROJECTOR = ContractProjector()


async def _created(
    session: AsyncSession, event: ContractCreated, version: int, at: datetime
) -> None:
    await session.execute(insert(contracts).values(**_contract_row(event, version, at)))
    await _add_subscriptions(session, event.contract_id, 0, event.subscriptions)


async def _many_created(
    session: AsyncSession, created: Sequence[tuple[Envelope, ContractCreated]]
) -> None:
    """New contracts and their subscriptions, one insert per table."""
    if not created:
        return
    rows = [_contract_row(event, e.stream_version, e.occurred_at) for e, event in created]
    await session.execute(insert(contracts), rows)
    await _insert_subscriptions(
        session, [(event.contract_id, 0, event.subscriptions) for _, event in created]
    )


def _contract_row(event: ContractCreated, version: int, at: datetime) -> dict[str, Any]:
    return {
        "id": event.contract_id,
        "account_id": event.account_id,
        "quote_id": event.quote_id,
        "currency": event.currency,
        "status": ContractStatus.ACTIVE,
        "start_date": event.start_date,
        "end_date": event.end_date,
        "term_start": event.start_date,
        "term_months": event.term_months,
        "bill_cycle_day": event.bill_cycle_day,
        "billing_timing": event.billing_timing,
        "auto_renew": event.auto_renew,
        "terminated_on": None,
        "credit_unused": None,
        "stream_version": version,
        "created_at": at,
        "updated_at": at,
    }


async def _add_subscriptions(
    session: AsyncSession, contract_id: str, first_position: int, added: list[SubscriptionData]
) -> None:
    await _insert_subscriptions(session, [(contract_id, first_position, added)])


async def _insert_subscriptions(
    session: AsyncSession, added: Sequence[tuple[str, int, list[SubscriptionData]]]
) -> None:
    """Each (contract id, first position, subscriptions) added: one insert per table."""
    subscription_rows = [
        {
            "id": s.subscription_id, "contract_id": contract_id, "position": position,
            "sku": s.sku, "name": s.name, "charge_type": s.charge_type,
            "billing_period": s.billing_period, "unit_price": s.unit_price,
            "start_date": s.start_date, "end_date": s.end_date,
        }
        for contract_id, first_position, subs in added
        for position, s in enumerate(subs, start=first_position)
    ]  # fmt: skip
    if not subscription_rows:
        return
    await session.execute(insert(subscriptions), subscription_rows)
    await session.execute(
        insert(subscription_quantities),
        [
            {"subscription_id": s.subscription_id, "effective_date": s.start_date,
             "quantity": s.quantity}
            for _, _, subs in added
            for s in subs
        ],
    )  # fmt: skip


async def _set_quantity(
    session: AsyncSession, subscription_id: str, effective_date: date, quantity: int
) -> None:
    # A second change on the same day replaces the first.
    await session.execute(
        delete(subscription_quantities).where(
            subscription_quantities.c.subscription_id == subscription_id,
            subscription_quantities.c.effective_date == effective_date,
        )
    )
    await session.execute(
        insert(subscription_quantities).values(
            subscription_id=subscription_id, effective_date=effective_date, quantity=quantity
        )
    )


async def _amended(session: AsyncSession, event: ContractAmended) -> None:
    existing = set(
        (
            await session.execute(
                select(subscriptions.c.id).where(subscriptions.c.contract_id == event.contract_id)
            )
        ).scalars()
    )
    added = [
        c.subscription for c in event.changes if c.subscription.subscription_id not in existing
    ]
    for change in event.changes:
        sub = change.subscription
        if sub.subscription_id in existing:
            await _set_quantity(
                session, sub.subscription_id, event.effective_date, change.quantity_after
            )
            await session.execute(
                update(subscriptions)
                .where(subscriptions.c.id == sub.subscription_id)
                .values(end_date=sub.end_date)
            )
    await _add_subscriptions(session, event.contract_id, len(existing), added)
    await session.execute(
        insert(contract_amendments).values(
            contract_id=event.contract_id,
            seq=await _next_seq(session, contract_amendments, event.contract_id),
            quote_id=event.quote_id,
            effective_date=event.effective_date,
        )
    )


async def _renewed(session: AsyncSession, event: ContractRenewed) -> None:
    await session.execute(
        update(contracts)
        .where(contracts.c.id == event.contract_id)
        .values(end_date=event.term_end, term_start=event.term_start, term_months=event.term_months)
    )
    ids = [s.subscription_id for s in event.subscriptions]
    if ids:
        await session.execute(
            update(subscriptions).where(subscriptions.c.id.in_(ids)).values(end_date=event.term_end)
        )
    await session.execute(
        insert(contract_renewals).values(
            contract_id=event.contract_id,
            seq=await _next_seq(session, contract_renewals, event.contract_id),
            quote_id=event.quote_id,
            term_start=event.term_start,
            term_end=event.term_end,
            term_months=event.term_months,
        )
    )


async def _terminated(session: AsyncSession, event: ContractTerminated) -> None:
    await session.execute(
        update(contracts)
        .where(contracts.c.id == event.contract_id)
        .values(
            status=ContractStatus.TERMINATED,
            end_date=event.end_date,
            terminated_on=event.effective_date,
            credit_unused=event.credit_unused,
        )
    )
    for sub in event.subscriptions:
        await session.execute(
            update(subscriptions)
            .where(subscriptions.c.id == sub.subscription_id)
            .values(end_date=sub.end_date)
        )
        if sub.start_date >= event.effective_date:
            # It would have started on or after T: it never starts.
            await _set_quantity(session, sub.subscription_id, sub.start_date, 0)


async def _next_seq(session: AsyncSession, table: Table, contract_id: str) -> int:
    stmt = select(func.coalesce(func.max(table.c.seq), 0)).where(table.c.contract_id == contract_id)
    return int((await session.execute(stmt)).scalar_one()) + 1
