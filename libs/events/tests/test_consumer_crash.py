"""A consumer process killed between its database commit and its offset commit.

The event was applied, but its offset was never committed, so the restarted
consumer gets it again; the inbox turns the redelivery into a no-op. Real
processes, real broker, real databases (SQLite and PostgreSQL through `db_url`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from broker_io import create_topics, publish, unique
from revline_events.topics import dead_letter_topic
from revline_testkit.broker import TansuBroker
from revline_testkit.waiting import eventually
from toy import ClickRecorded, Toy, kernel, upstream

SCRIPT = Path(__file__).parent / "crashing_consumer.py"
DEADLINE_S = 30.0


async def start_consumer(
    bootstrap: str,
    db_url: str,
    topic: str,
    group: str,
    crash_after_commit_of: str | None,
    *,
    batch_handlers: bool = False,
) -> asyncio.subprocess.Process:
    """Start crashing_consumer.py; it dies after committing `crash_after_commit_of`, if set.

    With `batch_handlers`, clicks go through the toy's batch handler."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TOY_CRASH_AFTER_COMMIT_OF", "TOY_BATCH_HANDLERS")
    }
    if crash_after_commit_of is not None:
        env["TOY_CRASH_AFTER_COMMIT_OF"] = crash_after_commit_of
    if batch_handlers:
        env["TOY_BATCH_HANDLERS"] = "1"
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        bootstrap,
        db_url,
        topic,
        group,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_a_consumer_killed_after_its_db_commit_applies_the_event_once_after_restart(
    toy: Toy, tansu: TansuBroker, db_url: str
) -> None:
    topic = unique("upstream.events")
    await create_topics(tansu.bootstrap, topic, dead_letter_topic(topic))
    group = unique("group")
    first, doomed, last = (
        upstream(ClickRecorded(name="a", clicks=clicks)) for clicks in (1, 10, 100)
    )
    await publish(
        tansu.bootstrap, topic, *((e.account_id.encode(), e.to_bytes()) for e in (first, doomed))
    )

    crashing = await start_consumer(tansu.bootstrap, db_url, topic, group, doomed.event_id)
    try:
        _, crash_log = await asyncio.wait_for(crashing.communicate(), DEADLINE_S)
    finally:
        if crashing.returncode is None:  # it never reached the event: do not leave it behind
            crashing.kill()
            await crashing.wait()
    assert crashing.returncode == 1, crash_log.decode()
    assert await toy.counter("a") == 11  # `doomed` is in the database...
    assert doomed.event_id in await toy.inbox_ids()

    await publish(tansu.bootstrap, topic, (last.account_id.encode(), last.to_bytes()))
    restarted = await start_consumer(tansu.bootstrap, db_url, topic, group, None)
    try:

        async def all_applied() -> bool:
            return await toy.counter("a") == 111

        await eventually(all_applied, within=DEADLINE_S, what="the later event applied")
    finally:
        if restarted.returncode is None:
            restarted.send_signal(signal.SIGTERM)
        output, errors = await asyncio.wait_for(restarted.communicate(), DEADLINE_S)
    assert restarted.returncode == 0, errors.decode()

    # ...its offset was not committed, so it came again and the inbox absorbed it.
    redelivered = {
        line.removeprefix("redelivered ")
        for line in output.decode().splitlines()
        if line.startswith("redelivered ")
    }
    assert doomed.event_id in redelivered
    assert last.event_id not in redelivered
    assert sorted(await toy.inbox_ids()) == sorted(e.event_id for e in (first, doomed, last))
    assert await toy.count(kernel.event_store) == 3
    assert await toy.counter("a") == 111


async def test_a_consumer_killed_after_a_batch_commit_redelivers_the_batch_with_no_second_effect(
    toy: Toy, tansu: TansuBroker, db_url: str
) -> None:
    topic = unique("upstream.events")
    await create_topics(tansu.bootstrap, topic, dead_letter_topic(topic))
    group = unique("group")
    batch = [upstream(ClickRecorded(name="a", clicks=10**power)) for power in range(5)]
    doomed = batch[-1]
    last = upstream(ClickRecorded(name="a", clicks=100_000))
    # Published before the consumer starts, so its first fetch brings them all.
    await publish(tansu.bootstrap, topic, *((e.account_id.encode(), e.to_bytes()) for e in batch))

    crashing = await start_consumer(
        tansu.bootstrap, db_url, topic, group, doomed.event_id, batch_handlers=True
    )
    try:
        _, crash_log = await asyncio.wait_for(crashing.communicate(), DEADLINE_S)
    finally:
        if crashing.returncode is None:
            crashing.kill()
            await crashing.wait()
    assert crashing.returncode == 1, crash_log.decode()
    assert await toy.counter("a") == 11_111  # the whole batch is in the database...
    assert await toy.count(kernel.event_store) == 5

    await publish(tansu.bootstrap, topic, (last.account_id.encode(), last.to_bytes()))
    restarted = await start_consumer(
        tansu.bootstrap, db_url, topic, group, None, batch_handlers=True
    )
    try:

        async def all_applied() -> bool:
            return await toy.counter("a") == 111_111

        await eventually(all_applied, within=DEADLINE_S, what="the later event applied")
    finally:
        if restarted.returncode is None:
            restarted.send_signal(signal.SIGTERM)
        output, errors = await asyncio.wait_for(restarted.communicate(), DEADLINE_S)
    assert restarted.returncode == 0, errors.decode()

    # ...no offset of it was committed, so all of it came again and the inbox absorbed it.
    redelivered = {
        line.removeprefix("redelivered ")
        for line in output.decode().splitlines()
        if line.startswith("redelivered ")
    }
    assert redelivered == {e.event_id for e in batch}
    assert sorted(await toy.inbox_ids()) == sorted(e.event_id for e in [*batch, last])
    assert await toy.count(kernel.event_store) == 6
    assert await toy.counter("a") == 111_111
