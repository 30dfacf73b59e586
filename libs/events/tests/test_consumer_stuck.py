"""A wedged consumer is replaced: the runner does not stay deaf.

aiokafka's consumer can stay wedged after a broker restart (aio-libs/aiokafka#1154):
it never finds its group coordinator again, fetches nothing, and an offset commit
waits for ever, while the service keeps answering HTTP. The whole-stack fault test
met it once (billing consumed nothing after the broker's restart). Here the wedge is
put in by hand on a real consumer against the real broker: its offset commit never
returns. The runner gives up on it after `stuck_after_s`, starts a new consumer in
the same group, which reads the uncommitted records again (the inbox absorbs them),
and later records apply once.

The four records the wedged consumer handles go out as one record batch. The
runner commits after a fetch that came back empty, or after any fetch once
`commit_interval_s` (0.5 s) has passed since its consumer started, so four records
published one at a time could straddle its first, wedged commit: when the first
came more than half a second after the join (or the next over 200 ms after it),
the wedged consumer handled only those before the commit, only those came again
as duplicates, and the new consumer applied the rest, so the re-read of four was
never reached (the symptom of the CI failures, PostgreSQL case). A batch is
fetched whole, so the wedged commit is for all four (asserted).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from aiokafka import TopicPartition
from broker_io import fast_runner, publish, publish_batch, runner_running, unique
from revline_events.consumer import ConsumerRunner
from revline_testkit.broker import TansuBroker
from revline_testkit.waiting import eventually
from test_consumer_batches import fresh_topic, handled, until_handled, wire
from toy import HANDLERS, TOY_CATALOGUE, ClickRecorded, Toy, upstream


async def test_a_consumer_whose_commit_never_returns_is_replaced_and_nothing_doubles(
    toy: Toy, tansu: TansuBroker, caplog: pytest.LogCaptureFixture
) -> None:
    topic = await fresh_topic(tansu)
    runner: ConsumerRunner = fast_runner(
        service=unique("toy"), bootstrap=tansu.bootstrap, topics=[topic],
        uow_factory=toy.uow, handlers=HANDLERS, catalogue=TOY_CATALOGUE,
        group_id=unique("group"), stuck_after_s=1.0,
    )  # fmt: skip
    first = [upstream(ClickRecorded(name=name, clicks=n)) for n, name in enumerate("abab", 1)]
    later = [upstream(ClickRecorded(name=name, clicks=n)) for n, name in ((5, "a"), (6, "b"))]
    asked: list[dict[TopicPartition, int]] = []

    async def never_returns(offsets: dict[TopicPartition, int], *_: Any, **__: Any) -> None:
        """An offset commit of a wedged consumer (noting what it was asked to commit)."""
        asked.append(dict(offsets))
        await asyncio.Event().wait()

    with caplog.at_level(logging.WARNING, logger="revline_events.consumer"):
        async with runner_running(runner):
            wedged = runner._consumer
            assert wedged is not None
            wedged.commit = never_returns  # type: ignore[method-assign]
            await publish_batch(tansu.bootstrap, topic, 0, *map(wire, first))
            await until_handled(runner, topic, 4)

            # The commit after those four never returns: a new consumer takes over and
            # reads them again, and the inbox makes them no-ops.
            async def replaced_and_reread() -> bool:
                return runner._consumer not in (None, wedged) and (
                    handled(runner, topic, "duplicate") >= 4
                )

            await eventually(replaced_and_reread, within=30, what="a new consumer re-read")
            await publish(tansu.bootstrap, topic, *map(wire, later))
            await until_handled(runner, topic, 10)

    assert asked == [{TopicPartition(topic, 0): 4}]  # the wedged one had handled all four
    assert handled(runner, topic, "applied") == 6
    assert handled(runner, topic, "duplicate") == 4
    assert (await toy.counter("a"), await toy.counter("b")) == (1 + 3 + 5, 2 + 4 + 6)
    assert sorted(await toy.inbox_ids()) == sorted(e.event_id for e in first + later)
    assert any("offset commit did not return within 1s" in r.getMessage() for r in caplog.records)
