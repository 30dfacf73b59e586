"""The order service's contracts: load a Contract, save the one an order leaves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from revline_events.repository import Repository
from sqlalchemy import bindparam, delete, insert, select, update

from order.domain.contract import Contract, ContractStatus, QuantityFrom, Subscription
from order.store.tables import (
    contract_subscription_quantities,
    contract_subscriptions,
    contracts,
)

# Ids per IN (...) lookup: well inside every database's limit on bound parameters.
IN_CHUNK = 500


# Built once: the consumer's hot path (ContractCreated) runs it for every batch.
_KNOWN = select(contracts.c.contract_id).where(
    contracts.c.contract_id.in_(bindparam("ids", expanding=True))
)


class Contracts(Repository):
    """Each contract as the last order left it: what the next order starts from."""

    async def load(self, contract_id: str) -> Contract | None:
        """The contract as the last order left it, or None when it was never created."""
        found = await self.session.execute(
            select(contracts).where(contracts.c.contract_id == contract_id)
        )
        row = found.mappings().first()
        if row is None:
            return None
        quantities = contract_subscription_quantities
        steps = (
            select(quantities)
            .where(quantities.c.contract_id == contract_id)
            .order_by(quantities.c.position, quantities.c.from_date)
        )
        history: dict[int, list[QuantityFrom]] = {}
        for step in (await self.session.execute(steps)).mappings():
            history.setdefault(step["position"], []).append(
                QuantityFrom(step["from_date"], step["quantity"])
            )
        stmt = (
            select(contract_subscriptions)
            .where(contract_subscriptions.c.contract_id == contract_id)
            .order_by(contract_subscriptions.c.position)
        )
        subscriptions = tuple(
            Subscription(
                subscription_id=s["subscription_id"],
                sku=s["sku"],
                name=s["name"],
                charge_type=s["charge_type"],
                billing_period=s["billing_period"],
                quantity=s["quantity"],
                unit_price=s["unit_price"],
                start_date=s["start_date"],
                end_date=s["end_date"],
                history=tuple(history.get(s["position"], ())),
            )
            for s in (await self.session.execute(stmt)).mappings()
        )
        return Contract(
            contract_id=row["contract_id"],
            account_id=row["account_id"],
            currency=row["currency"],
            start_date=row["start_date"],
            end_date=row["end_date"],
            bill_cycle_day=row["bill_cycle_day"],
            billing_timing=row["billing_timing"],
            status=ContractStatus(row["status"]),
            subscriptions=subscriptions,
        )

    async def known(self, contract_ids: Sequence[str]) -> set[str]:
        """The ids of `contract_ids` the service has a contract of."""
        found: set[str] = set()
        unique = list(dict.fromkeys(contract_ids))
        conn = await self.session.connection()
        for start in range(0, len(unique), IN_CHUNK):
            chunk = unique[start : start + IN_CHUNK]
            found.update(await conn.scalars(_KNOWN, {"ids": chunk}))
        return found

    async def save(self, contract: Contract, *, by_order: str, known: bool) -> None:
        """Store `contract` as order `by_order` left it (`known`: it has a row already)."""
        if known:
            row = _contract_row(contract, by_order)
            del row["contract_id"]
            await self.session.execute(
                update(contracts)
                .where(contracts.c.contract_id == contract.contract_id)
                .values(**row)
            )
            for table in (contract_subscription_quantities, contract_subscriptions):
                await self.session.execute(
                    delete(table).where(table.c.contract_id == contract.contract_id)
                )
        else:
            await self.session.execute(
                insert(contracts).values(**_contract_row(contract, by_order))
            )
        await self._insert_subscriptions([contract])

    async def add_new(self, created: Sequence[tuple[Contract, str]]) -> None:
        """Store contracts the service has no row of, each as its order (the second of
        each pair) left it: one insert per table (`save` of each, with known=False)."""
        if not created:
            return
        rows = [_contract_row(contract, by_order) for contract, by_order in created]
        await self.session.execute(insert(contracts), rows)
        await self._insert_subscriptions([contract for contract, _ in created])

    async def _insert_subscriptions(self, saved: Sequence[Contract]) -> None:
        subscription_rows = [
            {
                "contract_id": contract.contract_id,
                "position": position,
                "subscription_id": s.subscription_id,
                "sku": s.sku,
                "name": s.name,
                "charge_type": s.charge_type,
                "billing_period": s.billing_period,
                "quantity": s.quantity,
                "unit_price": s.unit_price,
                "start_date": s.start_date,
                "end_date": s.end_date,
            }
            for contract in saved
            for position, s in enumerate(contract.subscriptions, start=1)
        ]
        if subscription_rows:
            await self.session.execute(insert(contract_subscriptions), subscription_rows)
        steps = [
            {
                "contract_id": contract.contract_id,
                "position": position,
                "from_date": step.from_date,
                "quantity": step.quantity,
            }
            for contract in saved
            for position, s in enumerate(contract.subscriptions, start=1)
            for step in s.history
        ]
        if steps:
            await self.session.execute(insert(contract_subscription_quantities), steps)


def _contract_row(contract: Contract, by_order: str) -> dict[str, Any]:
    return {
        "contract_id": contract.contract_id,
        "account_id": contract.account_id,
        "currency": contract.currency,
        "start_date": contract.start_date,
        "end_date": contract.end_date,
        "bill_cycle_day": contract.bill_cycle_day,
        "billing_timing": contract.billing_timing,
        "status": contract.status,
        "last_order_id": by_order,
    }
