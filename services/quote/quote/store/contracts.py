"""The quote service's read model of contracts, fed by contract.events.

Upstream state, not a projection of the quote service's own events: a
rebuild leaves it alone (it is not in PROJECTIONS), and a lost database is
refilled by consuming contract.events from the beginning.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from revline_events.repository import Repository
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Integer,
    String,
    Table,
    bindparam,
    delete,
    insert,
    select,
    update,
)

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

# The statements of each ContractCreated (a lookup, two inserts and the delete before
# them), built once and run on the session's connection: building a statement and
# its cache key per event cost the quote service more than running it.
_FIND = select(contract_views).where(contract_views.c.contract_id == bindparam("contract_id"))
_FIND_SUBSCRIPTIONS = select(contract_subscription_views).where(
    contract_subscription_views.c.contract_id == bindparam("contract_id")
)
_ADD = insert(contract_views)
_DROP_SUBSCRIPTIONS = delete(contract_subscription_views).where(
    contract_subscription_views.c.subscription_id.in_(bindparam("ids", expanding=True))
)
_ADD_SUBSCRIPTIONS = insert(contract_subscription_views)


class ContractReadModel(Repository):
    """What the quote service last heard of each contract, by contract id."""

    async def find(self, contract_id: str) -> ContractView | None:
        """The contract as last heard of, or None."""
        conn = await self.session.connection()
        key = {"contract_id": contract_id}
        row = (await conn.execute(_FIND, key)).mappings().first()
        if row is None:
            return None
        subs = (await conn.execute(_FIND_SUBSCRIPTIONS, key)).mappings()
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

    async def add(self, contract: ContractView) -> None:
        """Record a new contract with its subscriptions."""
        conn = await self.session.connection()
        await conn.execute(
            _ADD,
            {
                "contract_id": contract.contract_id,
                "account_id": contract.account_id,
                "currency": contract.currency,
                "status": contract.status,
                "start_date": contract.start_date,
                "end_date": contract.end_date,
                "bill_cycle_day": contract.bill_cycle_day,
                "billing_timing": contract.billing_timing,
            },
        )
        await self.put_subscriptions(contract.contract_id, contract.subscriptions.values())

    async def extend(self, contract_id: str, end_date: date) -> None:
        """The contract's term now ends on `end_date` (a renewal)."""
        await self._change(contract_id, end_date=end_date)

    async def terminate(self, contract_id: str, end_date: date) -> None:
        """The contract was terminated and ends on `end_date`."""
        await self._change(contract_id, status="terminated", end_date=end_date)

    async def expire(self, contract_id: str) -> None:
        """The contract reached its end date without renewing."""
        await self._change(contract_id, status="expired")

    async def put_subscriptions(
        self, contract_id: str, subscriptions: Iterable[ContractSubscription]
    ) -> None:
        """Insert or replace these subscriptions of the contract."""
        rows = [
            {
                "subscription_id": s.subscription_id,
                "contract_id": contract_id,
                "sku": s.sku,
                "unit_price": s.unit_price,
                "quantity": s.quantity,
            }
            for s in subscriptions
        ]
        if not rows:
            return
        conn = await self.session.connection()
        await conn.execute(_DROP_SUBSCRIPTIONS, {"ids": [row["subscription_id"] for row in rows]})
        await conn.execute(_ADD_SUBSCRIPTIONS, rows)

    async def _change(self, contract_id: str, **values: object) -> None:
        await self.session.execute(
            update(contract_views)
            .where(contract_views.c.contract_id == contract_id)
            .values(**values)
        )
