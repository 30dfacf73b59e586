"""The orders as projected: a repository shared by handlers and routers.

Handlers get it from their unit of work (`uow.repository(Orders)`); a router
that only reads builds one on its own session (`Orders(session)`).
"""

from __future__ import annotations

import re
from typing import Any

from revline_events.repository import Repository
from sqlalchemy import select

from order.domain.billing_controls import BillingControls
from order.store.tables import order_items, orders

# Ids are printable ASCII without spaces and fit their column; anything else
# (a NUL, which PostgreSQL refuses outright) names no order, unasked.
_ORDER_ID = re.compile(r"[!-~]{1,40}")


class Orders(Repository):
    """Orders as projected, each with its items and billing controls."""

    async def find(self, order_id: str) -> dict[str, Any] | None:
        """One order with its items (key `items`, in line order), or None."""
        if not _ORDER_ID.fullmatch(order_id):
            return None
        stmt = select(orders).where(orders.c.id == order_id)
        row = (await self.session.execute(stmt)).mappings().first()
        if row is None:
            return None
        order = dict(row)
        lines = select(order_items).where(order_items.c.order_id == order_id)
        items = (await self.session.execute(lines.order_by(order_items.c.line_no))).mappings()
        order["items"] = [dict(item) for item in items]
        return order

    async def page(
        self,
        *,
        contract_id: str | None,
        account_id: str | None,
        after: list[Any] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Orders with their items in id order (ids grow with time), filtered by contract
        and account when given, after the cursor key [id], up to limit + 1 of them."""
        stmt = select(orders).order_by(orders.c.id).limit(limit + 1)
        if contract_id is not None:
            stmt = stmt.where(orders.c.contract_id == contract_id)
        if account_id is not None:
            stmt = stmt.where(orders.c.account_id == account_id)
        if after:
            stmt = stmt.where(orders.c.id > str(after[0]))
        found = [dict(r) for r in (await self.session.execute(stmt)).mappings()]
        by_id = {row["id"]: {**row, "items": []} for row in found}
        if by_id:
            items = (
                select(order_items)
                .where(order_items.c.order_id.in_(list(by_id)))
                .order_by(order_items.c.order_id, order_items.c.line_no)
            )
            for item in (await self.session.execute(items)).mappings():
                by_id[item["order_id"]]["items"].append(dict(item))
        return list(by_id.values())


def controls_of(row: dict[str, Any]) -> BillingControls:
    """The billing controls of a stored order."""
    return BillingControls(
        order_id=row["id"],
        effective_date=row["effective_date"],
        held=row["billing_hold"],
        next_billing_date_override=row["next_billing_date_override"],
    )
