"""A ledger under test whose new consumer group starts at the ends of the topics it reads.

The module's broker keeps every earlier test's billing events of the module
(when the broker was the session's: thousands by the time the ledger's modules ran). A ledger
in a consumer group of its own used to read all of them before its own test's
events showed up, and on a loaded machine (load 8 to 10, PostgreSQL mostly)
that took longer than the 15 s its tests wait. A test's events are published
after its ledger started, so the group may start at the topic's end as it was
then: `FreshLedger.serving` commits those offsets for a group that has none yet
(a group that committed keeps its offsets: a restarted ledger, or a second
replica, reads on from where the group stands). Tests that publish before they
start a ledger (tests/faults) use the plain `ServiceUnderTest`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import OffsetAndMetadata, TopicPartition
from ledger.main import SPEC, app_factory
from ledger.settings import LedgerSettings
from revline_events.clock import Clock
from revline_testkit.fixtures import ServiceUnderTest
from revline_testkit.live import LiveService
from revline_testkit.topics import topic_ends

BILLING_EVENTS = "billing.events"
# Every topic the ledger reads: billing's documents, and quotes and contracts for the metrics.
UPSTREAM = tuple(SPEC.upstream_topics)


async def start_at_end(bootstrap: str, group: str, *topics: str) -> None:
    """Commit the current end offsets of `topics` (default every topic the ledger reads)
    for `group` when the group is new (a topic not created yet: nothing to skip)."""
    await start_group_at(bootstrap, group, await topic_ends(bootstrap, *(topics or UPSTREAM)))


async def start_group_at(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    """Commit `offsets` for `group` when it is new (no offset on any of those partitions).

    A group that has committed anywhere reads on from where it stands, on every
    partition: a partition it has no offset for got nothing while it ran (or its topic
    did not exist yet), so what is there now was published since and is the group's to
    read. Its member may also be still winding down on the dev broker, which then
    refuses an outside commit (UnknownMemberId)."""
    if not offsets:
        return
    # Assigned, not subscribed: commits without joining the group.
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        committed = [await consumer.committed(tp) for tp in offsets]
        if all(offset is None for offset in committed):
            await consumer.commit(
                {tp: OffsetAndMetadata(offset, "") for tp, offset in offsets.items()}
            )
    finally:
        await consumer.stop()


class FreshLedger(ServiceUnderTest):
    """The ledger, its new consumer group starting at the ends of the topics it reads."""

    @asynccontextmanager
    async def serving(
        self,
        database_url: str,
        bootstrap: str,
        tmp_path: Path,
        clock: Clock | None = None,
        **overrides: Any,
    ) -> AsyncIterator[LiveService]:
        """As `ServiceUnderTest.serving`, after committing the group's start offsets."""
        settings = self.settings(database_url, bootstrap, tmp_path, **overrides)
        assert settings.consumer_group is not None
        await start_at_end(bootstrap, settings.consumer_group)
        overrides = {**overrides, "consumer_group": settings.consumer_group}
        async with super().serving(database_url, bootstrap, tmp_path, clock, **overrides) as live:
            yield live


LEDGER = FreshLedger("ledger", LedgerSettings, app_factory)
