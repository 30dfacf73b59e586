"""Publish hand-made events to a topic, as an upstream service would."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from revline_events.catalogue import EventPayload, make_envelope
from revline_events.clock import Clock
from revline_events.envelope import Envelope
from revline_events.kafka import new_producer


def upstream_event(
    payload: EventPayload,
    *,
    stream_id: str,
    stream_version: int,
    account_id: str,
    producer: str,
    clock: Clock,
    effective_date: date | None = None,
) -> Envelope:
    """An envelope as `producer` would have published it."""
    return make_envelope(
        payload,
        stream_id=stream_id,
        stream_version=stream_version,
        account_id=account_id,
        producer=producer,
        clock=clock,
        correlation_id=str(uuid.uuid4()),
        effective_date=effective_date,
    )


async def publish(bootstrap: str, topic: str, envelopes: Sequence[Envelope]) -> None:
    """Send the envelopes in order, keyed by account id, and wait until the broker has them."""
    producer = new_producer(bootstrap, "test-publisher")
    await producer.start()
    try:
        for envelope in envelopes:
            await producer.send(topic, value=envelope.to_bytes(), key=envelope.account_id.encode())
        await producer.flush()
    finally:
        await producer.stop()
