"""`GET /v1/journal-entries` as CSV: every matching entry, one row per line, streamed.

The list can be the whole journal, so it is never built in memory: entries are
read a page at a time in posting order (entry_date, entry_id), each page in a
session of its own (on SQLite the pool holds one connection, which a slow
download must not keep from the writers), and written out a line at a time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import Any

from revline_service.service import Runtime

from ledger.domain.accounts import LedgerAccount
from ledger.store.journal import Journal

HEADER = (
    "entry_id", "entry_date", "account_id", "currency", "kind", "concerns_kind",
    "concerns_id", "concerns_line_no", "service_month", "ledger_account", "name",
    "debit", "credit", "event_id", "source_event_id",
)  # fmt: skip
# Entries read per query: big enough to amortise the round trip, small enough to stream.
PAGE = 500


async def journal_rows(
    runtime: Runtime,
    *,
    account_id: str | None,
    date_from: date | None,
    date_to: date | None,
    after: list[Any] | None = None,
) -> AsyncIterator[Sequence[object]]:
    """The CSV rows (HEADER's columns) of the entries matching the filters (dates
    inclusive), after the cursor key when given: one row per line, lines in chart order."""
    while True:
        async with runtime.db.session() as session:
            entries = await Journal(session).page(
                account_id=account_id, date_from=date_from, date_to=date_to,
                after=after, limit=PAGE,
            )  # fmt: skip
        for entry in entries[:PAGE]:
            for line in entry["lines"]:
                yield (
                    entry["entry_id"], entry["entry_date"], entry["account_id"],
                    entry["currency"], entry["kind"], entry["concerns_kind"],
                    entry["concerns_id"], _blank(entry["concerns_line_no"]),
                    _blank(entry["service_month"]), line["ledger_account"],
                    LedgerAccount(line["ledger_account"]).label, line["debit"],
                    line["credit"], entry["event_id"], entry["source_event_id"],
                )  # fmt: skip
        if len(entries) <= PAGE:
            return
        last = entries[PAGE - 1]
        after = [last["entry_date"].isoformat(), last["entry_id"]]


def _blank(value: object) -> object:
    return "" if value is None else value
