"""Read queries on the billing projections, shared by handlers and routers."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from billing.store.tables import (
    bill_run_batches,
    bill_runs,
    billed_lines,
    billing_orders,
    credit_notes,
    invoice_settlements,
    invoices,
    quantity_changes,
    subscription_terms,
    subscriptions,
)

# Ids are printable ASCII without spaces and fit their column; anything else
# (a NUL, which PostgreSQL refuses outright) names nothing, unasked.
_ID = re.compile(r"[!-~]{1,200}")


def _valid(identifier: str) -> bool:
    return _ID.fullmatch(identifier) is not None


async def read_one_snapshot(session: AsyncSession, postgres: bool) -> None:
    """Make the session's reads see one snapshot (call before its first statement).

    A document is read in several statements (row, lines, settlements); under
    PostgreSQL's default READ COMMITTED a settlement committed between them would
    show amounts that its list does not explain. SQLite reads in one snapshot anyway.
    """
    if postgres:
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


async def order_control(session: AsyncSession, order_id: str) -> dict[str, Any] | None:
    """Billing's row of an order (controls and stream version), or None."""
    if not _valid(order_id):
        return None
    stmt = select(billing_orders).where(billing_orders.c.order_id == order_id)
    row = (await session.execute(stmt)).mappings().first()
    return None if row is None else dict(row)


async def invoice_row(session: AsyncSession, invoice_id: str) -> dict[str, Any] | None:
    """The invoice's row without lines, or None."""
    if not _valid(invoice_id):
        return None
    row = (await session.execute(select(invoices).where(invoices.c.id == invoice_id))).mappings()
    found = row.first()
    return None if found is None else dict(found)


async def lines_of(
    session: AsyncSession, document_ids: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """Each document's lines in line order, provenance included."""
    result: dict[str, list[dict[str, Any]]] = {d: [] for d in document_ids}
    if not document_ids:
        return result
    stmt = (
        select(billed_lines)
        .where(billed_lines.c.document_id.in_(document_ids))
        .order_by(billed_lines.c.document_id, billed_lines.c.line_no)
    )
    for row in (await session.execute(stmt)).mappings():
        line = dict(row)
        line["order_event_ids"] = json.loads(line["order_event_ids"])
        result[line["document_id"]].append(line)
    return result


async def settlements_of(session: AsyncSession, invoice_id: str) -> list[dict[str, Any]]:
    """What was applied to the invoice, oldest first."""
    stmt = (
        select(invoice_settlements)
        .where(invoice_settlements.c.invoice_id == invoice_id)
        .order_by(invoice_settlements.c.applied_on, invoice_settlements.c.source_event_id)
    )
    return [dict(r) for r in (await session.execute(stmt)).mappings()]


async def invoice(session: AsyncSession, invoice_id: str) -> dict[str, Any] | None:
    """One invoice with its lines (key `lines`) and settlements, or None."""
    row = await invoice_row(session, invoice_id)
    if row is None:
        return None
    row["lines"] = (await lines_of(session, [invoice_id]))[invoice_id]
    row["settlements"] = await settlements_of(session, invoice_id)
    return row


async def _page(
    session: AsyncSession,
    table: Table,
    filters: dict[str, Any],
    order_column: str,
    after: list[Any] | None,
    limit: int,
) -> list[dict[str, Any]]:
    key = table.c[order_column]
    stmt = select(table).order_by(key).limit(limit + 1)
    for name, value in filters.items():
        if value is not None:
            stmt = stmt.where(table.c[name] == value)
    if after:
        stmt = stmt.where(key > str(after[0]))
    return [dict(r) for r in (await session.execute(stmt)).mappings()]


async def list_invoices(
    session: AsyncSession,
    *,
    account_id: str | None,
    status: str | None,
    bill_run_id: str | None,
    after: list[Any] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Invoices in number order with their lines, up to limit + 1."""
    filters = {"account_id": account_id, "status": status, "bill_run_id": bill_run_id}
    rows = await _page(session, invoices, filters, "number", after, limit)
    lines = await lines_of(session, [r["id"] for r in rows])
    for row in rows:
        row["lines"] = lines[row["id"]]
    return rows


async def credit_note(session: AsyncSession, credit_note_id: str) -> dict[str, Any] | None:
    """One credit note with its lines, or None."""
    if not _valid(credit_note_id):
        return None
    stmt = select(credit_notes).where(credit_notes.c.id == credit_note_id)
    found = (await session.execute(stmt)).mappings().first()
    if found is None:
        return None
    row = dict(found)
    row["lines"] = (await lines_of(session, [credit_note_id]))[credit_note_id]
    return row


async def list_credit_notes(
    session: AsyncSession,
    *,
    account_id: str | None,
    bill_run_id: str | None,
    after: list[Any] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Credit notes in number order with their lines, up to limit + 1."""
    filters = {"account_id": account_id, "bill_run_id": bill_run_id}
    rows = await _page(session, credit_notes, filters, "number", after, limit)
    lines = await lines_of(session, [r["id"] for r in rows])
    for row in rows:
        row["lines"] = lines[row["id"]]
    return rows


async def bill_run(session: AsyncSession, bill_run_id: str) -> dict[str, Any] | None:
    """One bill run with the ids of its invoices and credit notes (in number order)."""
    if not _valid(bill_run_id):
        return None
    found = (
        (await session.execute(select(bill_runs).where(bill_runs.c.id == bill_run_id)))
        .mappings()
        .first()
    )
    if found is None:
        return None
    row = dict(found)
    for key, table in (("invoice_ids", invoices), ("credit_note_ids", credit_notes)):
        stmt = select(table.c.id).where(table.c.bill_run_id == bill_run_id).order_by(table.c.number)
        row[key] = list((await session.execute(stmt)).scalars())
    stmt = (
        select(bill_run_batches.c.done, func.count())
        .where(bill_run_batches.c.bill_run_id == bill_run_id)
        .group_by(bill_run_batches.c.done)
    )
    counts = {bool(done): int(n) for done, n in (await session.execute(stmt)).all()}
    row["batches"] = {"total": sum(counts.values()), "done": counts.get(True, 0)}
    return row


async def list_bill_runs(
    session: AsyncSession, *, after: list[Any] | None, limit: int
) -> list[dict[str, Any]]:
    """Bill runs in id order (ids grow with time), with their document ids."""
    rows = await _page(session, bill_runs, {}, "id", after, limit)
    for row in rows:
        for key, table in (("invoice_ids", invoices), ("credit_note_ids", credit_notes)):
            stmt = select(table.c.id).where(table.c.bill_run_id == row["id"])
            row[key] = list((await session.execute(stmt.order_by(table.c.number))).scalars())
    return rows


async def schedules(
    session: AsyncSession, *, account_id: str | None, after: list[Any] | None, limit: int
) -> list[dict[str, Any]]:
    """Subscriptions in id order with terms, quantity changes and billed lines."""
    rows = await _page(
        session, subscriptions, {"account_id": account_id}, "subscription_id", after, limit
    )
    ids = [r["subscription_id"] for r in rows]
    by_id = {r["subscription_id"]: {**r, "terms": [], "quantities": [], "billed": []} for r in rows}
    if not ids:
        return []
    for table, key, order in (
        (subscription_terms, "terms", subscription_terms.c.start_date),
        (quantity_changes, "quantities", quantity_changes.c.sequence),
    ):
        stmt = select(table).where(table.c.subscription_id.in_(ids)).order_by(order)
        for r in (await session.execute(stmt)).mappings():
            by_id[r["subscription_id"]][key].append(dict(r))
    stmt = (
        select(billed_lines)
        .where(billed_lines.c.subscription_id.in_(ids))
        .order_by(billed_lines.c.period_start, billed_lines.c.document_id, billed_lines.c.line_no)
    )
    for r in (await session.execute(stmt)).mappings():
        by_id[r["subscription_id"]]["billed"].append(dict(r))
    return list(by_id.values())
