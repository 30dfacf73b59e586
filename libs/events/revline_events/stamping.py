"""The kernel stamps envelopes: a service hands over payloads, the kernel names the rest.

Event ids, the producer, correlation and causation ids, `occurred_at` from the
injected clock and stream versions are filled in here and nowhere else, so no
service builds an envelope by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from revline_events.catalogue import EventPayload, make_envelope
from revline_events.clock import Clock
from revline_events.envelope import Envelope
from revline_events.received import Received


@dataclass(frozen=True)
class NewStream:
    """The first event of a new stream (a bill run's invoices: one stream each).

    `cause`, when given, is this stream's own upstream event (a batch reaction
    records one new stream per event it handles); it overrides the call's cause.
    """

    stream_id: str
    account_id: str
    payload: EventPayload
    effective_date: date | None = None
    cause: Received[Any] | None = None


@dataclass(frozen=True)
class _Item:
    stream_id: str
    account_id: str
    stream_version: int
    payload: EventPayload
    effective_date: date | None
    cause: Received[Any] | None = None


class Stamper:
    """Wraps one service's payloads in envelopes.

    Correlation: the cause's correlation id when there is a cause (a reaction);
    else the ambient one (`correlation()`: the HTTP request's, say); else the
    first stamped event's own id, shared by every event of the same call.
    Causation: the cause's event id, or None. A new stream with a cause of its
    own (`NewStream.cause`) takes its correlation and causation from that one.
    """

    def __init__(
        self,
        producer: str,
        clock: Clock,
        correlation: Callable[[], str | None] | None = None,
    ) -> None:
        self.producer = producer
        self.clock = clock
        self._correlation = correlation

    def stamp(
        self,
        payloads: Sequence[EventPayload],
        *,
        stream_id: str,
        account_id: str,
        expected_version: int,
        cause: Received[Any] | None,
        effective_date: date | None = None,
    ) -> list[Envelope]:
        """Envelopes of one stream numbered expected_version + 1, + 2, ...; every one
        carries `effective_date` and the clock's current instant (UTC)."""
        numbered = [
            _Item(stream_id, account_id, expected_version + number, payload, effective_date)
            for number, payload in enumerate(payloads, start=1)
        ]
        return self._stamp(numbered, cause)

    def stamp_new_streams(
        self, streams: Sequence[NewStream], *, cause: Received[Any] | None
    ) -> list[Envelope]:
        """Version 1 of each of `streams`, correlated as one call of `stamp`; a stream
        with a cause of its own is correlated with, and caused by, that one."""
        firsts = [
            _Item(s.stream_id, s.account_id, 1, s.payload, s.effective_date, s.cause)
            for s in streams
        ]
        return self._stamp(firsts, cause)

    def _stamp(self, items: Sequence[_Item], cause: Received[Any] | None) -> list[Envelope]:
        envelopes: list[Envelope] = []
        correlation_id = self._correlation_of(cause)
        for item in items:
            own = item.cause
            envelope = make_envelope(
                item.payload,
                stream_id=item.stream_id,
                stream_version=item.stream_version,
                account_id=item.account_id,
                producer=self.producer,
                clock=self.clock,
                correlation_id=correlation_id if own is None else own.correlation_id,
                causation_id=(
                    own.event_id if own is not None else None if cause is None else cause.event_id
                ),
                effective_date=item.effective_date,
            )
            if own is None:
                # Without a given correlation the first event's own id correlates them all.
                correlation_id = envelope.correlation_id
            envelopes.append(envelope)
        return envelopes

    def _correlation_of(self, cause: Received[Any] | None) -> str | None:
        if cause is not None:
            return cause.correlation_id
        return None if self._correlation is None else self._correlation()
