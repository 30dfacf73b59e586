"""The reports whose rows grow with the data, as CSV read while it is sent.

AR aging has a row per account and a statement a row per entry: neither is
laid out whole. The aging is one query (see `aging_pages` for how it is read
on each database); the statement is read a page of entries at a time in
report order, each page in a session of its own (on SQLite the pool holds one
connection, which a slow download must not keep from the writers). Both are
written out a page at a time: one chunk of the response per page (a send per
line cost a third of the aging CSV's time at 10,000 accounts).
The trial balance, tie-out and revenue report are bounded by the chart, the
currencies and the months, whatever the volume: they are laid out whole.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Sequence
from datetime import date

from fastapi.responses import StreamingResponse
from revline_service.service import Runtime

from ledger.api.csv_export import csv_download
from ledger.domain.reports import AgingBucket, AgingRow, RevenueReport, TrialBalance
from ledger.store.receivables import AgingPivot, Receivables, aging_cells, aging_rows

AGING_HEADER = (
    "account_id", "currency", *(b.value for b in AgingBucket), "total", "customer_credit",
)  # fmt: skip
TRIAL_BALANCE_HEADER = ("currency", "ledger_account", "name", "debit", "credit")
REVENUE_HEADER = ("currency", "month", "subscription", "one_time", "deferred_revenue_at_to")
STATEMENT_HEADER = ("entry_date", "kind", "concerns_kind", "concerns_id", "change", "balance")
# Aging cells fetched (and accounts sent) per chunk; statement entries read per query.
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
    return csv_download(name, _chunks(header, pages))


async def aging_pages(runtime: Runtime, as_of: date) -> AsyncIterator[list[Row]]:
    """The aging report's rows (AGING_HEADER) by currency, then account, a chunk at a
    time (the accounts of PAGE cells, or PAGE accounts), from one query (`aging_cells`);
    accounts with nothing due and no credit are left out. On PostgreSQL the query's rows
    come through a server-side cursor, PAGE cells a fetch, on a pooled connection of its
    own held while the download runs. On SQLite the aggregate's cells (a few per
    account) are read at once and the connection given back before the first byte is
    sent: the pool holds one connection and every transaction begins IMMEDIATE, so a
    cursor held by a slow download would stop the writers; the text is still written
    and sent a chunk at a time."""
    stmt = aging_cells(as_of)
    async with runtime.db.session() as session:
        if runtime.db.is_postgres:
            pivot = AgingPivot()
            result = await session.stream(stmt.execution_options(yield_per=PAGE))
            async for cells in result.partitions(PAGE):
                rows = (pivot.add(cell) for cell in cells)
                if lines := [_aging_line(row) for row in rows if row is not None]:
                    yield lines
            if (last := pivot.last()) is not None:
                yield [_aging_line(last)]
            return
        found = (await session.execute(stmt)).all()
    page: list[Row] = []
    for row in aging_rows(found):
        page.append(_aging_line(row))
        if len(page) == PAGE:
            yield page
            page = []
    if page:
        yield page


def _aging_line(row: AgingRow) -> Row:
    return (row.account_id, row.currency, *(row.buckets[b] for b in AgingBucket),
            row.total, row.customer_credit)  # fmt: skip


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


def trial_balance_lines(balances: Iterable[TrialBalance]) -> Iterator[Row]:
    """The trial balances' rows (TRIAL_BALANCE_HEADER): every account of the chart, per
    currency."""
    for balance in balances:
        for row in balance.rows:
            yield (balance.currency, row.account.value, row.account.label, row.debit, row.credit)


def revenue_lines(reports: Iterable[RevenueReport]) -> Iterator[Row]:
    """The revenue reports' rows (REVENUE_HEADER): a row per currency and service month
    ("YYYY-MM"), the deferred revenue at the range's end on each."""
    for report in reports:
        for month in report.months:
            yield (report.currency, month.month.isoformat()[:7], month.subscription,
                   month.one_time, report.deferred_at_to)  # fmt: skip
