"""The quote service's read model of contracts, fed by contract.events.

Upstream state, not a projection of the quote service's own events: a
rebuild leaves it alone (it is not in PROJECTIONS), and a lost database is
refilled by consuming contract.events from the beginning.
"""

from __future__ import annotations

from revline_events.payloads.contract import SubscriptionData
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Integer,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from quote.domain.contract_fit import ContractSubscription, ContractView
from quote.store.tables import metadata

contract_views = Table(
    "contract_views",
    metadata,
    Column("contract_id", String(64), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(20), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("bill_cycle_day", Integer, nullable=False),
    Column("billing_timing", String(20), nullable=False),
)

contract_subscription_views = Table(
    "contract_subscription_views",
    metadata,
    Column("subscription_id", String(64), primary_key=True),
    Column("contract_id", String(64), nullable=False, index=True),
    Column("sku", String(64), nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),
)


async def load(session: AsyncSession, contract_id: str) -> ContractView | None:
    """The contract as last heard of, or None."""
    row = (
        await session.execute(
            select(contract_views).where(contract_views.c.contract_id == contract_id)
        )
    ).mappings().first()  # fmt: skip
    if row is None:
        return None
    subs = (
        await session.execute(
            select(contract_subscription_views).where(
                contract_subscription_views.c.contract_id == contract_id
            )
        )
    ).mappings()
    return ContractView(
        contract_id=row["contract_id"],
        account_id=row["account_id"],
        currency=row["currency"],
        status=row["status"],
        start_date=row["start_date"],
        end_date=row["end_date"],
        bill_cycle_day=row["bill_cycle_day"],
        billing_timing=row["billing_timing"],
        subscriptions={
            s["subscription_id"]: ContractSubscription(
                s["subscription_id"], s["sku"], s["unit_price"], s["quantity"]
            )
            for s in subs
        },
    )


async def add_contract(session: AsyncSession, row: dict[str, object]) -> None:
    """Record a new contract."""
    await session.execute(insert(contract_views).values(**row))


async def set_contract(session: AsyncSession, contract_id: str, **values: object) -> None:
    """Change fields of a known contract (status, end_date)."""
    await session.execute(
        update(contract_views).where(contract_views.c.contract_id == contract_id).values(**values)
    )


async def put_subscriptions(
    session: AsyncSession, contract_id: str, subscriptions: list[SubscriptionData]
) -> None:
    """Insert or replace these subscriptions of the contract."""
    if not subscriptions:
        return
    ids = [s.subscription_id for s in subscriptions]
    await session.execute(
        delete(contract_subscription_views).where(
            contract_subscription_views.c.subscription_id.in_(ids)
        )
    )
    await session.execute(
        insert(contract_subscription_views),
        [
            {
                "subscription_id": s.subscription_id,
                "contract_id": contract_id,
                "sku": s.sku,
                "unit_price": s.unit_price,
                "quantity": s.quantity,
            }
            for s in subscriptions
        ],
    )
