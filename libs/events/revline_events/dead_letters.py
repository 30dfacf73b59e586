"""Reading a service's dead letters back, and replaying them through its consumer path.

The runner parks a poison record on `<topic>.dlq` with headers naming the error,
the source topic/partition/offset and the consumer (revline_events.consumer).
`read_dead_letters` reads those topics from their start with a throwaway consumer
(no group, nothing committed) up to their end offsets at the time of the call.
`replay` hands the chosen entries, in DLQ order, to the runner's own
`apply_envelope`: the same handlers, the same unit of work and inbox, so an
event already applied is a duplicate. Nothing is dead-lettered again: an entry
that still fails stays where it is, on the DLQ, and a later replay tries it again
(the decision and why: libs/events/README.md, "Dead letters").
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from revline_events.consumer import ConsumerRunner
from revline_events.envelope import Envelope
from revline_events.kafka import CONSUMER_SETTINGS

# Outcomes of one replayed entry.
APPLIED = "applied"
DUPLICATE = "duplicate"
IGNORED = "ignored"
STILL_FAILING = "still failing"
UNPARSEABLE = "unparseable"


@dataclass(frozen=True)
class DeadLetter:
    """One record of a DLQ topic, with what its headers and value tell."""

    dlq_topic: str
    dlq_partition: int
    dlq_offset: int
    source_topic: str
    source_partition: int | None
    source_offset: int | None
    consumer: str | None
    error: str
    dead_lettered_at: datetime | None
    key: str | None
    value: bytes
    envelope: Envelope | None
    unparseable: str | None  # why the value is no envelope, when it is not

    @property
    def event_id(self) -> str | None:
        """The event's id, when the value parses."""
        return self.envelope.event_id if self.envelope is not None else None

    @property
    def event_type(self) -> str | None:
        """The event's type, when the value parses."""
        return self.envelope.type if self.envelope is not None else None

    @property
    def where(self) -> str:
        """`topic[partition]@offset` of the entry on its DLQ topic."""
        return f"{self.dlq_topic}[{self.dlq_partition}]@{self.dlq_offset}"

    def as_json(self) -> dict[str, Any]:
        """The entry without its raw value, for `dlq list --json`."""
        return {
            "dlq_topic": self.dlq_topic,
            "dlq_partition": self.dlq_partition,
            "dlq_offset": self.dlq_offset,
            "source_topic": self.source_topic,
            "source_partition": self.source_partition,
            "source_offset": self.source_offset,
            "where": self.where,
            "consumer": self.consumer,
            "key": self.key,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "error": self.error,
            "dead_lettered_at": (
                self.dead_lettered_at.isoformat() if self.dead_lettered_at is not None else None
            ),
            "unparseable": self.unparseable,
        }


@dataclass(frozen=True)
class Replayed:
    """What a replay did with one entry; `reason` says why it did not apply."""

    entry: DeadLetter
    outcome: str
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The outcome, for `dlq replay --json`."""
        return {
            "dlq_topic": self.entry.dlq_topic,
            "dlq_partition": self.entry.dlq_partition,
            "dlq_offset": self.entry.dlq_offset,
            "where": self.entry.where,
            "event_id": self.entry.event_id,
            "event_type": self.entry.event_type,
            "outcome": self.outcome,
            "reason": self.reason,
        }


def dead_letter_of(record: Any) -> DeadLetter:
    """A DLQ record (aiokafka ConsumerRecord) as a DeadLetter."""
    headers = {key: value.decode("utf-8", "replace") for key, value in record.headers or ()}
    envelope: Envelope | None = None
    unparseable: str | None = None
    try:
        envelope = Envelope.from_bytes(record.value)
    except (ValidationError, ValueError, TypeError) as error:
        unparseable = f"unparseable envelope: {error}"
    source_topic = headers.get("source_topic") or record.topic.removesuffix(".dlq")
    return DeadLetter(
        dlq_topic=record.topic,
        dlq_partition=record.partition,
        dlq_offset=record.offset,
        source_topic=source_topic,
        source_partition=_int_or_none(headers.get("source_partition")),
        source_offset=_int_or_none(headers.get("source_offset")),
        consumer=headers.get("consumer"),
        error=headers.get("error", ""),
        dead_lettered_at=(
            datetime.fromtimestamp(record.timestamp / 1000, UTC)
            if record.timestamp is not None and record.timestamp >= 0
            else None
        ),
        key=record.key.decode("utf-8", "replace") if record.key is not None else None,
        value=bytes(record.value or b""),
        envelope=envelope,
        unparseable=unparseable,
    )


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


async def read_dead_letters(
    bootstrap: str,
    dlq_topics: Sequence[str],
    *,
    consumer: str | None = None,
    within: float = 60.0,
) -> list[DeadLetter]:
    """Every record of `dlq_topics` up to their end now, in DLQ order (topic as given,
    then partition, then offset). With `consumer`, only the entries that consumer
    parked (a topic's DLQ is shared by every service that consumes the topic); an
    entry with no consumer header is kept. A topic that does not exist has none.
    Raises TimeoutError when the records up to the end take over `within` seconds."""
    reader = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=CONSUMER_SETTINGS["fetch_max_wait_ms"],
        request_timeout_ms=10000,
    )
    await reader.start()
    try:
        known = await reader.topics()  # a metadata request for every topic
        partitions = [
            TopicPartition(topic, partition)
            for topic in dict.fromkeys(dlq_topics)
            if topic in known
            for partition in sorted(reader.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return []
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        ends: dict[TopicPartition, int] = await reader.end_offsets(partitions)
        records: dict[TopicPartition, list[Any]] = {tp: [] for tp in partitions}
        pending = {tp for tp in partitions if ends[tp] > 0}
        deadline = time.monotonic() + within
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {sorted(map(str, pending))} took over {within}s")
            batches = await reader.getmany(*pending, timeout_ms=200)
            for tp, batch in batches.items():
                records[tp].extend(r for r in batch if r.offset < ends[tp])
                if batch and batch[-1].offset >= ends[tp] - 1:
                    pending.discard(tp)
    finally:
        await reader.stop()
    entries = [dead_letter_of(r) for tp in partitions for r in records[tp]]
    if consumer is not None:
        entries = [e for e in entries if e.consumer in (None, consumer)]
    return entries


async def replay(runner: ConsumerRunner, entries: Sequence[DeadLetter]) -> list[Replayed]:
    """Put `entries` back through `runner`'s consumer path, in the order given.

    Applied once (the inbox claims the event id), a duplicate when the inbox has
    it already, ignored when the runner has no handler for its type (any more);
    still failing with the handler's reason, or unparseable. Nothing is
    dead-lettered: an entry that fails again stays on the DLQ as it is.
    """
    done: list[Replayed] = []
    for entry in entries:
        if entry.envelope is None:
            done.append(Replayed(entry, UNPARSEABLE, entry.unparseable))
            continue
        outcome, reason = await runner.apply_envelope(entry.envelope, entry.source_topic)
        if reason is not None:
            done.append(Replayed(entry, STILL_FAILING, reason))
        else:
            done.append(Replayed(entry, outcome))
    return done
