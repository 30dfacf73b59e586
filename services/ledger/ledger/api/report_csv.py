"""The reports whose rows grow with the data, as CSV read while it is sent.

AR aging has a row per account and a statement a row per entry: neither is
built in memory. Rows are read a page at a time in report order, each page in
a session of its own (on SQLite the pool holds one connection, which a slow
download must not keep from the writers), and written out a page at a time:
one chunk of the response per page (a send per line cost a third of the
aging CSV's time at 10,000 accounts).
The trial balance, tie-out and revenue report are bounded by the chart, the
currencies and the months, whatever the volume: they are laid out whole.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from datetime import date

from fastapi.responses import StreamingResponse
from revline_service.service import Runtime

from ledger.api.csv_export import CSV
from ledger.domain.reports import AgingBucket
from ledger.store.receivables import Receivables

AGING_HEADER = (
    "account_id", "currency", *(b.value for b in AgingBucket), "total", "customer_credit",
)  # fmt: skip
STATEMENT_HEADER = ("entry_date", "kind", "concerns_kind", "concerns_id", "change", "balance")
# Accounts (aging) or entries (statement) read per query.
PAGE = 500


Row = Sequence[object]


async def _chunks(header: Sequence[str], pages: AsyncIterable[list[Row]]) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    async for page in pages:
        writer.writerows(page)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def csv_pages(
    name: str, header: Sequence[str], pages: AsyncIterable[list[Row]]
) -> StreamingResponse:
    """A CSV download of pages of rows read while it is sent, a chunk per page."""
    return StreamingResponse(
        _chunks(header, pages),
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


async def aging_pages(runtime: Runtime, as_of: date) -> AsyncIterator[list[Row]]:
    """The aging report's rows (AGING_HEADER) by currency, then account, a page of
    accounts at a time; accounts with nothing due and no credit are left out."""
    async with runtime.db.session() as session:
        currencies = await Receivables(session).move_currencies()
    for currency in currencies:
        after: str | None = None
        while True:
            async with runtime.db.session() as session:
                found = Receivables(session)
                accounts = await found.accounts_with_moves(currency, after, PAGE)
                if not accounts:
                    break
                rows = await found.aging(
                    as_of, currency=currency, accounts=(accounts[0], accounts[-1])
                )
            yield [
                (row.account_id, row.currency, *(row.buckets[b] for b in AgingBucket),
                 row.total, row.customer_credit)
                for row in rows
            ]  # fmt: skip
            after = accounts[-1]


async def statement_pages(
    runtime: Runtime, account_id: str, currency: str, date_from: date, date_to: date
) -> AsyncIterator[list[Row]]:
    """The statement's lines (STATEMENT_HEADER) in posting order with the running balance
    after the opening one, a page of entries at a time."""
    async with runtime.db.session() as session:
        balance = await Receivables(session).statement_opening(account_id, currency, date_from)
    after: tuple[date, str] | None = None
    while True:
        async with runtime.db.session() as session:
            lines = await Receivables(session).statement_lines(
                account_id, currency, date_from, date_to, after, PAGE
            )
        page: list[Row] = []
        for line in lines:
            balance += line["change"]
            page.append(
                (line["entry_date"], line["kind"], line["concerns_kind"], line["concerns_id"],
                 line["change"], balance)
            )  # fmt: skip
        yield page
        if len(lines) < PAGE:
            return
        after = (lines[-1]["entry_date"], lines[-1]["entry_id"])
