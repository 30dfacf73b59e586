"""Topic names and idempotent topic creation."""

from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

log = logging.getLogger(__name__)

DLQ_SUFFIX = ".dlq"


def events_topic(service: str) -> str:
    """The one topic a service publishes its events on (`quote.events`, ...)."""
    return f"{service}.events"


def dead_letter_topic(topic: str) -> str:
    """Where poison events read from `topic` are parked with their error."""
    return f"{topic}{DLQ_SUFFIX}"


async def ensure_topics(
    bootstrap: str, topics: list[str], *, partitions: int, replication_factor: int
) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are.

    Retention is infinite (`retention.ms=-1`): the log is the system of record.
    Raises the broker's error (a KafkaError) when it refuses to create a topic.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in dict.fromkeys(topics) if t not in existing]
        if not missing:
            return
        new = [
            NewTopic(
                name=t,
                num_partitions=partitions,
                replication_factor=replication_factor,
                topic_configs={"retention.ms": "-1"},
            )
            for t in missing
        ]
        # aiokafka reports errors per topic instead of raising them.
        response = await admin.create_topics(new)
        for name, code, *_ in response.topic_errors:
            if code == TopicAlreadyExistsError.errno:
                # Another replica created it between our list and create: fine.
                log.debug("topic %s already exists", name)
            elif code != 0:
                raise for_code(code)(f"creating topic {name}")
    finally:
        await admin.close()
