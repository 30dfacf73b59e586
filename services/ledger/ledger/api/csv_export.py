"""`Accept: text/csv` on the reports: the same figures as rows, streamed line by line."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from fastapi import Request
from fastapi.responses import StreamingResponse

CSV = "text/csv"


def wants_csv(request: Request) -> bool:
    """True when the client asks for CSV (and not JSON first)."""
    accept = request.headers.get("accept", "")
    return CSV in accept and "application/json" not in accept.split(CSV)[0]


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
    return StreamingResponse(
        _lines(header, rows),
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
