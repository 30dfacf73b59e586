"""aiokafka settings that every producer and consumer of Revline shares.

Tuned on the dev broker (DESIGN.md, Broker): a waiting fetch returns at its
deadline, so fetch_max_wait_ms is short; idempotent producers and transactions
are never used, so the design holds on any Kafka-wire broker.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

PRODUCER_SETTINGS: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": False,
    "linger_ms": 0,
    "request_timeout_ms": 10000,
    "retry_backoff_ms": 100,
}

CONSUMER_SETTINGS: dict[str, Any] = {
    "enable_auto_commit": False,
    "auto_offset_reset": "earliest",
    "fetch_max_wait_ms": 10,
    "session_timeout_ms": 10000,
    "heartbeat_interval_ms": 1000,
    "max_poll_records": 500,
    "metadata_max_age_ms": 5000,
}


def new_producer(bootstrap: str, client_id: str) -> AIOKafkaProducer:
    """A producer with the shared settings (not started)."""
    return AIOKafkaProducer(bootstrap_servers=bootstrap, client_id=client_id, **PRODUCER_SETTINGS)


def new_consumer(
    bootstrap: str, group_id: str | None, *topics: str, **overrides: Any
) -> AIOKafkaConsumer:
    """A consumer with the shared settings (not started); offsets committed by hand.

    `overrides` replace shared settings, e.g. a short session timeout on the dev broker.
    """
    settings = {**CONSUMER_SETTINGS, **overrides}
    return AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=group_id, **settings)
