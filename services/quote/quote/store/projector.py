"""Folds the quote service's own events into its projection tables.

The only code that writes projections: commands and rebuilds both go
through it, so the tables are always a pure function of the event store.
"""

from __future__ import annotations

from typing import Any

from revline_events.catalogue import EventPayload
from revline_events.envelope import Envelope
from revline_events.payloads.quote import (
    ProductCreated,
    QuoteAccepted,
    QuotePresented,
    QuoteRejected,
    QuoteSnapshot,
)
from sqlalchemy import bindparam, delete, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from quote.domain.quote import QuoteStatus
from quote.store.tables import products, quote_lines, quotes


async def project(session: AsyncSession, envelope: Envelope, event: EventPayload) -> None:
    """Apply one quote-service event to the projections."""
    at = envelope.occurred_at
    if isinstance(event, ProductCreated):
        await session.execute(
            insert(products).values(**event.model_dump(), created_at=at)
        )  # fmt: skip
    elif isinstance(event, QuoteAccepted) and envelope.stream_version > 1:
        await session.execute(_ACCEPT, _accepted(envelope, event))
    elif isinstance(event, QuoteSnapshot):
        status = QuoteStatus.ACCEPTED if isinstance(event, QuoteAccepted) else QuoteStatus.DRAFT
        await _write_snapshot(session, envelope, event, status)
    elif isinstance(event, QuotePresented | QuoteRejected):
        status = (
            QuoteStatus.PRESENTED if isinstance(event, QuotePresented) else QuoteStatus.REJECTED
        )
        await session.execute(
            update(quotes)
            .where(quotes.c.id == event.quote_id)
            .values(status=status, stream_version=envelope.stream_version, updated_at=at)
        )


# QuoteAccepted repeats the snapshot it accepts (the handler builds it from the
# projected row), so on an existing quote only these columns change: one update,
# no rewrite of the row's other columns or of its lines.
_ACCEPT = update(quotes).where(quotes.c.id == bindparam("quote_id"))


def _accepted(envelope: Envelope, event: QuoteAccepted) -> dict[str, Any]:
    return {
        "quote_id": event.quote_id,
        "status": QuoteStatus.ACCEPTED,
        "stream_version": envelope.stream_version,
        "updated_at": envelope.occurred_at,
        "accepted_on": event.accepted_on,
    }


async def _write_snapshot(
    session: AsyncSession, envelope: Envelope, event: QuoteSnapshot, status: QuoteStatus
) -> None:
    row: dict[str, Any] = {
        "account_id": event.account_id,
        "currency": event.currency,
        "kind": event.kind,
        "contract_id": event.contract_id,
        "status": status,
        "version": event.version,
        "start_date": event.start_date,
        "term_months": event.term_months,
        "end_date": event.end_date,
        "bill_cycle_day": event.bill_cycle_day,
        "billing_timing": event.billing_timing,
        "auto_renew": event.auto_renew,
        "recurring_per_period": event.totals.recurring_per_period,
        "one_time": event.totals.one_time,
        "total_contract_value": event.totals.total_contract_value,
        "stream_version": envelope.stream_version,
        "updated_at": envelope.occurred_at,
        "accepted_on": event.accepted_on if isinstance(event, QuoteAccepted) else None,
    }
    if envelope.stream_version == 1:
        await session.execute(
            insert(quotes).values(id=event.quote_id, created_at=envelope.occurred_at, **row)
        )
    else:
        await session.execute(update(quotes).where(quotes.c.id == event.quote_id).values(**row))
        await session.execute(delete(quote_lines).where(quote_lines.c.quote_id == event.quote_id))
    if event.lines:
        await session.execute(
            insert(quote_lines),
            [{"quote_id": event.quote_id, **line.model_dump()} for line in event.lines],
        )
