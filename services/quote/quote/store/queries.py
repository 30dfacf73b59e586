"""The price book and the quotes as projected: repositories shared by handlers and routers.

Handlers get them from their unit of work (`uow.repository(Quotes)`); a router
that only reads builds one on its own session (`Quotes(session)`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from revline_events.repository import Repository
from sqlalchemy import bindparam, select

from quote.domain.quote import Product
from quote.store.tables import products, quote_lines, quotes

# Keys that fit their columns and hold no NUL (which PostgreSQL refuses outright):
# a path parameter outside them names no row, so the database is not even asked.
_SKU = re.compile(r"[A-Za-z0-9._-]{1,64}")
_QUOTE_ID = re.compile(r"[!-~]{1,40}")

# One quote and its lines (every accept, revision and read of a quote), built once and
# run on the session's connection: no statement and cache key built per call.
_QUOTE = select(quotes).where(quotes.c.id == bindparam("quote_id"))
_QUOTE_LINES = (
    select(quote_lines)
    .where(quote_lines.c.quote_id == bindparam("quote_id"))
    .order_by(quote_lines.c.line_no)
)


def product_from_row(row: Any) -> Product:
    """The domain Product of a `products` row."""
    return Product(
        sku=row["sku"],
        name=row["name"],
        currency=row["currency"],
        unit_price=row["unit_price"],
        charge_type=row["charge_type"],
        billing_period=row["billing_period"],
    )


class Products(Repository):
    """The price book: products by sku."""

    async def find(self, sku: str) -> dict[str, Any] | None:
        """One product as stored, or None."""
        if not _SKU.fullmatch(sku):
            return None
        row = (await self.session.execute(select(products).where(products.c.sku == sku))).mappings()
        found = row.first()
        return dict(found) if found else None

    async def catalog(self, skus: Iterable[str]) -> dict[str, Product]:
        """The price-book products among `skus`, by sku."""
        wanted = sorted(set(skus))
        stmt = select(products).where(products.c.sku.in_(wanted))
        rows = (await self.session.execute(stmt)).mappings()
        return {r["sku"]: product_from_row(r) for r in rows}

    async def page(self, after: list[Any] | None, limit: int) -> list[dict[str, Any]]:
        """Products by sku, after the cursor key [sku], up to limit + 1 rows."""
        stmt = select(products).order_by(products.c.sku).limit(limit + 1)
        if after:
            stmt = stmt.where(products.c.sku > str(after[0]))
        return [dict(r) for r in (await self.session.execute(stmt)).mappings()]


class Quotes(Repository):
    """Quotes as projected, each with its lines."""

    async def find(self, quote_id: str) -> dict[str, Any] | None:
        """One quote with its lines (key `lines`, in line order), or None."""
        if not _QUOTE_ID.fullmatch(quote_id):
            return None
        conn = await self.session.connection()
        key = {"quote_id": quote_id}
        row = (await conn.execute(_QUOTE, key)).mappings().first()
        if row is None:
            return None
        quote = dict(row)
        lines = (await conn.execute(_QUOTE_LINES, key)).mappings()
        quote["lines"] = [dict(line) for line in lines]
        return quote

    async def page(
        self, account_id: str | None, after: list[Any] | None, limit: int
    ) -> list[dict[str, Any]]:
        """Quotes with their lines in id order (ids grow with time), optionally of one account,
        after the cursor key [id], up to limit + 1 of them. Two queries, whatever the limit."""
        stmt = select(quotes).order_by(quotes.c.id).limit(limit + 1)
        if account_id is not None:
            stmt = stmt.where(quotes.c.account_id == account_id)
        if after:
            stmt = stmt.where(quotes.c.id > str(after[0]))
        found = [dict(r) for r in (await self.session.execute(stmt)).mappings()]
        by_id = {row["id"]: {**row, "lines": []} for row in found}
        if by_id:
            lines = (
                select(quote_lines)
                .where(quote_lines.c.quote_id.in_(list(by_id)))
                .order_by(quote_lines.c.quote_id, quote_lines.c.line_no)
            )
            for line in (await self.session.execute(lines)).mappings():
                by_id[line["quote_id"]]["lines"].append(dict(line))
        return list(by_id.values())
