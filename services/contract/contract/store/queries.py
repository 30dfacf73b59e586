"""The contract projections as the API shows them: repositories for the routers.

A router reads on its own session (`ContractRecords(session)`) or, after a
step, on the step's unit of work (`uow.repository(ContractRecords)`).
"""

from __future__ import annotations

import re
from typing import Any

from revline_events.repository import Repository
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contract.store.repository import CONTRACT_ID
from contract.store.tables import (
    contract_amendments,
    contract_renewals,
    contracts,
    renewal_runs,
    subscription_quantities,
    subscriptions,
)

_RUN_ID = re.compile(r"[!-~]{1,40}")


class ContractRecords(Repository):
    """Contracts as stored, with their subscriptions, amendments and renewals."""

    async def find(self, contract_id: str) -> dict[str, Any] | None:
        """One contract as stored, with `subscriptions` (each with `quantity_changes`),
        `amendments` and `renewals`; None when there is no such contract."""
        if not CONTRACT_ID.fullmatch(contract_id):
            return None
        stmt = select(contracts).where(contracts.c.id == contract_id)
        rows = await _with_children(
            self.session, [dict(r) for r in (await self.session.execute(stmt)).mappings()]
        )
        return rows[0] if rows else None

    async def page(
        self,
        account_id: str | None,
        quote_id: str | None,
        after: list[Any] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Contracts in id order (ids grow with time), after the cursor key [id], up to limit + 1.

        `quote_id` matches the quote that created a contract and every amendment or
        renewal quote applied to it. A fixed number of queries, whatever the limit.
        """
        stmt = select(contracts).order_by(contracts.c.id).limit(limit + 1)
        if account_id is not None:
            stmt = stmt.where(contracts.c.account_id == account_id)
        if quote_id is not None:
            amended = select(contract_amendments.c.contract_id).where(
                contract_amendments.c.quote_id == quote_id
            )
            renewed = select(contract_renewals.c.contract_id).where(
                contract_renewals.c.quote_id == quote_id
            )
            stmt = stmt.where(
                or_(
                    contracts.c.quote_id == quote_id,
                    contracts.c.id.in_(amended),
                    contracts.c.id.in_(renewed),
                )
            )
        if after:
            stmt = stmt.where(contracts.c.id > str(after[0]))
        return await _with_children(
            self.session, [dict(r) for r in (await self.session.execute(stmt)).mappings()]
        )


class RenewalRuns(Repository):
    """Renewal runs as recorded."""

    async def find(self, run_id: str) -> dict[str, Any] | None:
        """One renewal run as recorded, or None."""
        if not _RUN_ID.fullmatch(run_id):
            return None
        found = await self.session.execute(select(renewal_runs).where(renewal_runs.c.id == run_id))
        row = found.mappings().first()
        return dict(row) if row else None


async def _with_children(session: AsyncSession, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id = {
        row["id"]: {**row, "subscriptions": [], "amendments": [], "renewals": []} for row in rows
    }
    if not by_id:
        return []
    ids = list(by_id)
    stmt = (
        select(subscriptions)
        .where(subscriptions.c.contract_id.in_(ids))
        .order_by(subscriptions.c.contract_id, subscriptions.c.position)
    )
    subs = {
        r["id"]: {**r, "quantity_changes": []} for r in (await session.execute(stmt)).mappings()
    }
    if subs:
        stmt_q = (
            select(subscription_quantities)
            .where(subscription_quantities.c.subscription_id.in_(list(subs)))
            .order_by(
                subscription_quantities.c.subscription_id,
                subscription_quantities.c.effective_date,
            )
        )
        for q in (await session.execute(stmt_q)).mappings():
            subs[q["subscription_id"]]["quantity_changes"].append(
                {"effective_date": q["effective_date"], "quantity": q["quantity"]}
            )
    for sub in subs.values():
        by_id[sub["contract_id"]]["subscriptions"].append(sub)
    stmt_a = (
        select(contract_amendments)
        .where(contract_amendments.c.contract_id.in_(ids))
        .order_by(contract_amendments.c.contract_id, contract_amendments.c.seq)
    )
    for a in (await session.execute(stmt_a)).mappings():
        by_id[a["contract_id"]]["amendments"].append(dict(a))
    stmt_r = (
        select(contract_renewals)
        .where(contract_renewals.c.contract_id.in_(ids))
        .order_by(contract_renewals.c.contract_id, contract_renewals.c.seq)
    )
    for r in (await session.execute(stmt_r)).mappings():
        by_id[r["contract_id"]]["renewals"].append(dict(r))
    return list(by_id.values())
