"""Contracts as domain objects, for the handlers that change them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from revline_events.repository import Repository
from sqlalchemy import and_, bindparam, or_, select

from contract.domain.contract import (
    AmendmentRef,
    Contract,
    ContractStatus,
    QuantityChange,
    Subscription,
)
from contract.store.tables import (
    contract_amendments,
    contract_renewals,
    contracts,
    subscription_quantities,
    subscriptions,
)

# Printable ASCII that fits the id column (and holds no NUL, which PostgreSQL refuses):
# anything else names no contract, so the database is not even asked.
CONTRACT_ID = re.compile(r"[!-~]{1,40}")
# Ids per IN (...) lookup: well inside every database's limit on bound parameters.
IN_CHUNK = 500


# Built once: the consumer's hot path (QuoteAccepted) runs it for every batch.
_CREATED_BY_QUOTES = select(contracts.c.quote_id).where(
    contracts.c.quote_id.in_(bindparam("ids", expanding=True))
)


class Contracts(Repository):
    """Contracts with their subscriptions and history, loaded to be changed."""

    async def load(self, contract_id: str, *, for_update: bool = False) -> Contract | None:
        """The contract with its subscriptions and history, or None.

        `for_update` locks its row until the transaction ends (PostgreSQL; SQLite already
        serialises writers), so two steps on one contract decide one after the other.
        """
        if not CONTRACT_ID.fullmatch(contract_id):
            return None
        found = await self.load_many([contract_id], for_update=for_update)
        return found[0] if found else None

    async def load_many(
        self, contract_ids: Sequence[str], *, for_update: bool = False
    ) -> list[Contract]:
        """The named contracts, in id order, each with its subscriptions and history."""
        if not contract_ids:
            return []
        stmt = (
            select(contracts).where(contracts.c.id.in_(list(contract_ids))).order_by(contracts.c.id)
        )
        if for_update:
            stmt = stmt.with_for_update()
        rows = [dict(r) for r in (await self.session.execute(stmt)).mappings()]
        ids = [r["id"] for r in rows]
        if not ids:
            return []
        subs = await self._subscriptions(ids)
        amendments: dict[str, list[AmendmentRef]] = {i: [] for i in ids}
        stmt_a = (
            select(contract_amendments)
            .where(contract_amendments.c.contract_id.in_(ids))
            .order_by(contract_amendments.c.contract_id, contract_amendments.c.seq)
        )
        for row in (await self.session.execute(stmt_a)).mappings():
            amendments[row["contract_id"]].append(
                AmendmentRef(row["quote_id"], row["effective_date"])
            )
        renewals: dict[str, list[str]] = {i: [] for i in ids}
        stmt_r = select(contract_renewals.c.contract_id, contract_renewals.c.quote_id).where(
            contract_renewals.c.contract_id.in_(ids), contract_renewals.c.quote_id.is_not(None)
        )
        for contract_id, quote_id in (await self.session.execute(stmt_r)).all():
            renewals[contract_id].append(quote_id)
        return [
            _contract(row, subs[row["id"]], amendments[row["id"]], renewals[row["id"]])
            for row in rows
        ]

    async def due_for_renewal_run(self, as_of: date) -> list[str]:
        """Ids of the active contracts a renewal run as of `as_of` acts on, in id order.

        Auto-renewing ones whose end_date is on or before as_of, others whose end_date
        is before it (the domain decides again; this only narrows what is loaded).
        """
        stmt = (
            select(contracts.c.id)
            .where(
                contracts.c.status == ContractStatus.ACTIVE.value,
                or_(
                    and_(contracts.c.auto_renew.is_(True), contracts.c.end_date <= as_of),
                    and_(contracts.c.auto_renew.is_(False), contracts.c.end_date < as_of),
                ),
            )
            .order_by(contracts.c.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def created_by_quote(self, quote_id: str) -> str | None:
        """The id of the contract a new quote created, or None."""
        stmt = select(contracts.c.id).where(contracts.c.quote_id == quote_id).limit(1)
        found: str | None = (await self.session.execute(stmt)).scalar_one_or_none()
        return found

    async def created_by_quotes(self, quote_ids: Sequence[str]) -> set[str]:
        """The ids of `quote_ids` (new quotes) that created a contract already."""
        found: set[str] = set()
        unique = list(dict.fromkeys(quote_ids))
        conn = await self.session.connection()
        for start in range(0, len(unique), IN_CHUNK):
            chunk = unique[start : start + IN_CHUNK]
            found.update(await conn.scalars(_CREATED_BY_QUOTES, {"ids": chunk}))
        return found

    async def _subscriptions(self, contract_ids: list[str]) -> dict[str, list[Subscription]]:
        stmt = (
            select(subscriptions)
            .where(subscriptions.c.contract_id.in_(contract_ids))
            .order_by(subscriptions.c.contract_id, subscriptions.c.position)
        )
        rows = [dict(r) for r in (await self.session.execute(stmt)).mappings()]
        quantities: dict[str, list[QuantityChange]] = {r["id"]: [] for r in rows}
        if rows:
            stmt_q = (
                select(subscription_quantities)
                .where(subscription_quantities.c.subscription_id.in_(list(quantities)))
                .order_by(
                    subscription_quantities.c.subscription_id,
                    subscription_quantities.c.effective_date,
                )
            )
            for q in (await self.session.execute(stmt_q)).mappings():
                quantities[q["subscription_id"]].append(
                    QuantityChange(q["effective_date"], q["quantity"])
                )
        by_contract: dict[str, list[Subscription]] = {i: [] for i in contract_ids}
        for r in rows:
            by_contract[r["contract_id"]].append(
                Subscription(
                    id=r["id"], sku=r["sku"], name=r["name"], charge_type=r["charge_type"],
                    billing_period=r["billing_period"], unit_price=r["unit_price"],
                    start_date=r["start_date"], end_date=r["end_date"],
                    quantities=tuple(quantities[r["id"]]),
                )
            )  # fmt: skip
        return by_contract


def _contract(
    row: dict[str, Any],
    subs: list[Subscription],
    amendments: list[AmendmentRef],
    renewal_quote_ids: list[str],
) -> Contract:
    return Contract(
        id=row["id"],
        account_id=row["account_id"],
        quote_id=row["quote_id"],
        currency=row["currency"],
        status=ContractStatus(row["status"]),
        start_date=row["start_date"],
        end_date=row["end_date"],
        term_start=row["term_start"],
        term_months=row["term_months"],
        bill_cycle_day=row["bill_cycle_day"],
        billing_timing=row["billing_timing"],
        auto_renew=row["auto_renew"],
        subscriptions=tuple(subs),
        amendments=tuple(amendments),
        renewal_quote_ids=tuple(renewal_quote_ids),
        version=row["stream_version"],
    )
