"""aiokafka settings that every producer and consumer of Revline shares.

Tuned on the dev broker (DESIGN.md, Broker): a waiting fetch returns at the
first of its re-checks, at shrinking intervals, that finds data (about half the
wait at worst; bench/README.md, hop_latency), so fetch_max_wait_ms is short;
idempotent producers and transactions are never used, so the design holds on
any Kafka-wire broker.

Fetch pacing (FetchPacing): on the dev broker every fetch costs both sides CPU
whether or not a record came back, and a record that arrives while a fetch
waits is seen only at the broker's next re-check (up to about half the wait),
so a consumer fetches with a short wait while records arrive and a longer one
once it has been quiet for a while. On Apache Kafka a waiting fetch
returns as soon as a record arrives, so one long wait for both costs nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class FetchPacing:
    """How long a consumer's fetch may wait on the broker, busy and idle.

    `busy_wait_ms` while records arrive; `idle_wait_ms` once none arrived for
    `idle_after_ms`. The first record after a quiet spell waits up to
    `idle_wait_ms` on the dev broker (on Apache Kafka it does not wait).
    """

    busy_wait_ms: int = 10
    idle_wait_ms: int = 100
    idle_after_ms: int = 1000

    def __post_init__(self) -> None:
        if self.busy_wait_ms < 0 or self.idle_wait_ms < 0 or self.idle_after_ms < 0:
            raise ValueError(f"fetch pacing takes no negative durations: {self}")

    def wait_ms(self, quiet_s: float) -> int:
        """The fetch wait after `quiet_s` seconds without a record."""
        return self.idle_wait_ms if quiet_s * 1000 >= self.idle_after_ms else self.busy_wait_ms


# aiokafka (pinned) takes fetch_max_wait_ms once, into its fetcher, and reads it
# there for each fetch request it builds; pacing changes it in place.
_FETCHER_WAIT_ATTR = "_fetch_max_wait_ms"


class PacedConsumer(AIOKafkaConsumer):  # type: ignore[misc]  # aiokafka ships no types
    """An AIOKafkaConsumer whose fetch wait follows a FetchPacing (see the module doc).

    `getmany` notes when records last came back (on `monotonic`, time.monotonic
    unless a test passes its own) and sets the wait of the fetches after it.
    """

    def __init__(
        self,
        *topics: str,
        pacing: FetchPacing,
        monotonic: Callable[[], float] = time.monotonic,
        **settings: Any,
    ) -> None:
        super().__init__(*topics, fetch_max_wait_ms=pacing.busy_wait_ms, **settings)
        self.pacing = pacing
        self._monotonic = monotonic
        self._last_records = monotonic()

    @property
    def fetch_wait_ms(self) -> int:
        """The wait of the next fetch request (the fetcher exists once started)."""
        fetcher = getattr(self, "_fetcher", None)
        if fetcher is None:
            return self.pacing.busy_wait_ms
        return int(getattr(fetcher, _FETCHER_WAIT_ATTR))

    async def getmany(
        self, *partitions: Any, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[Any, list[Any]]:
        """As AIOKafkaConsumer.getmany; then sets the next fetches' wait."""
        batches: dict[Any, list[Any]] = await super().getmany(
            *partitions, timeout_ms=timeout_ms, max_records=max_records
        )
        now = self._monotonic()
        if any(batches.values()):
            self._last_records = now
        fetcher = getattr(self, "_fetcher", None)
        if fetcher is not None:
            if not hasattr(fetcher, _FETCHER_WAIT_ATTR):  # an aiokafka upgrade moved it
                raise RuntimeError(f"aiokafka's Fetcher has no {_FETCHER_WAIT_ATTR} to pace")
            setattr(fetcher, _FETCHER_WAIT_ATTR, self.pacing.wait_ms(now - self._last_records))
        return batches


def new_consumer(
    bootstrap: str,
    group_id: str | None,
    *topics: str,
    pacing: FetchPacing | None = None,
    **overrides: Any,
) -> AIOKafkaConsumer:
    """A consumer with the shared settings (not started); offsets committed by hand.

    `overrides` replace shared settings, e.g. a short session timeout on the dev broker.
    With `pacing` the fetch wait follows it (its busy wait replaces fetch_max_wait_ms).
    """
    settings = {**CONSUMER_SETTINGS, **overrides}
    if pacing is not None:
        settings.pop("fetch_max_wait_ms", None)
        return PacedConsumer(
            *topics, pacing=pacing, bootstrap_servers=bootstrap, group_id=group_id, **settings
        )
    return AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=group_id, **settings)
