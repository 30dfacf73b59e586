"""Daily totals: the journal's lines and moves summed per day, kept by the projector.

The reports over every account (trial balance, ledger accounts, revenue by
service month, tie-out) sum everything dated on or before a date. Summing the
lines themselves costs a row per line, so it grows with the invoices; these
tables hold one row per day and (currency, ledger account), per (service
month, day, currency, revenue account) and per (day, currency, sub-ledger
target), so the same sums read a row per day whatever the volume, and stay
exact and as of any past date (sums of integers over `entry_date <= as_of`).

The projector adds every batch of lines and moves it inserts (`add_daily_totals`)
in the same transaction: an upsert per table, the batch summed per key first,
keys in sorted order (two writers on PostgreSQL take the rows' locks in the
same order, so they queue rather than deadlock). A rebuild empties them with
the journal and the replay sums them again. Migration 0004 filled them from
the journal that existed before.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Executable, Table, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.store.tables import daily_account_totals, daily_revenue_totals, daily_subledger_totals

REVENUE_ACCOUNTS = ("4000", "4100")

Row = dict[str, Any]


def _summed(rows: Sequence[Row], key: Callable[[Row], tuple[Any, ...]], names: Sequence[str],
            values: Sequence[str]) -> list[Row]:  # fmt: skip
    """`rows` summed per `key` (its parts named `names`) over `values`, in key order."""
    sums: dict[tuple[Any, ...], list[int]] = {}
    for row in rows:
        found = sums.setdefault(key(row), [0] * len(values))
        for i, name in enumerate(values):
            found[i] += row[name]
    return [
        {**dict(zip(names, k, strict=True)), **dict(zip(values, v, strict=True))}
        for k, v in sorted(sums.items())
    ]


@functools.cache
def _upsert(table: Table, values: tuple[str, ...]) -> Executable:
    """INSERT ... ON CONFLICT (primary key) DO UPDATE adding `values`, built once per table.

    Written as text (the same SQL on SQLite and PostgreSQL, the columns' types on the
    parameters): SQLAlchemy's `on_conflict_do_update` has no cache key, so it was
    compiled again at every execution, three times per invoice posted (a third of the
    consumer's time in a profile of ledger_posting)."""
    names = [c.name for c in table.columns]
    keys = [c.name for c in table.primary_key.columns]
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) "
        f"VALUES ({', '.join(':' + n for n in names)}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
        + ", ".join(f"{v} = {table.name}.{v} + excluded.{v}" for v in values)
    )
    return text(sql).bindparams(*(bindparam(c.name, type_=c.type) for c in table.columns))


async def _add(session: AsyncSession, table: Table, rows: list[Row], values: Sequence[str]) -> None:
    """Insert each row, or add its `values` to the row already there (same primary key)."""
    if rows:
        await session.execute(_upsert(table, tuple(values)), rows)


async def add_daily_totals(
    session: AsyncSession, entries: Sequence[Row], lines: Sequence[Row], moves: Sequence[Row]
) -> None:
    """Add the projected rows of a batch of entries (as the projector inserts them) to the
    daily totals."""
    months: dict[str, date | None] = {e["entry_id"]: e["service_month"] for e in entries}
    revenue = [
        {**line, "service_month": months[line["entry_id"]]}
        for line in lines
        if line["ledger_account"] in REVENUE_ACCOUNTS and months[line["entry_id"]] is not None
    ]
    await _add(
        session,
        daily_account_totals,
        _summed(
            lines,
            lambda r: (r["entry_date"], r["currency"], r["ledger_account"]),
            ("entry_date", "currency", "ledger_account"),
            ("debit", "credit"),
        ),
        ("debit", "credit"),
    )
    await _add(
        session,
        daily_revenue_totals,
        _summed(
            revenue,
            lambda r: (r["service_month"], r["entry_date"], r["currency"], r["ledger_account"]),
            ("service_month", "entry_date", "currency", "ledger_account"),
            ("debit", "credit"),
        ),
        ("debit", "credit"),
    )
    await _add(
        session,
        daily_subledger_totals,
        _summed(
            moves,
            lambda r: (r["entry_date"], r["currency"], r["target"]),
            ("entry_date", "currency", "target"),
            ("amount",),
        ),
        ("amount",),
    )
