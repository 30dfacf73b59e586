"""`Accept: text/csv` on the reports: the same figures as rows, streamed line by line."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

CSV = "text/csv"
# The OpenAPI answer of a route that also speaks CSV: its 200 in text/csv beside the JSON.
CSV_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"content": {CSV: {"schema": {"type": "string"}}}, "description": "JSON, or CSV"}
}


def wants_csv(request: Request) -> bool:
    """True when the client asks for CSV (and not JSON first)."""
    accept = request.headers.get("accept", "")
    return CSV in accept and "application/json" not in accept.split(CSV)[0]


def csv_download(name: str, chunks: Iterable[str] | AsyncIterable[str]) -> StreamingResponse:
    """`chunks` of CSV text sent as they come, as the download `<name>.csv`: what every
    CSV response of the ledger is (csv_response, csv_stream, report_csv.csv_pages)."""
    return StreamingResponse(
        chunks,
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in (header, *rows):
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def csv_response(
    name: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> StreamingResponse:
    """A CSV download of `rows` under `header`, one line written at a time."""
    return csv_download(name, _lines(header, rows))


async def _lines_of(
    header: Sequence[str], rows: AsyncIterable[Sequence[object]]
) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    yield buffer.getvalue()
    async for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        yield buffer.getvalue()


def csv_stream(
    name: str, header: Sequence[str], rows: AsyncIterable[Sequence[object]]
) -> StreamingResponse:
    """A CSV download of rows read while it is sent (e.g. page by page from the database),
    one line written at a time."""
    return csv_download(name, _lines_of(header, rows))
