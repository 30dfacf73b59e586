"""Rebuild from the log: projections are a fold of the event store, and republishing doubles
nothing downstream. Real databases (SQLite and PostgreSQL through `db_url`), real broker.
"""

from __future__ import annotations

from broker_io import (
    create_topics,
    event_ids_by_key,
    fast_runner,
    reading,
    relay_running,
    runner_running,
    unique,
)
from prometheus_client import REGISTRY
from revline_events.outbox import OutboxRelay
from revline_events.replay import rebuild_projections, state_digest
from revline_events.topics import dead_letter_topic
from revline_testkit.broker import TansuBroker
from revline_testkit.waiting import eventually
from sqlalchemy import delete, insert, update
from toy import (
    MIRROR_HANDLERS,
    PROJECTIONS,
    TOY_CATALOGUE,
    Toy,
    counters,
    increment,
    kernel,
    project,
)


async def digest(toy: Toy) -> str:
    """The state digest of the toy's projections."""
    async with toy.db.session() as session:
        return await state_digest(session, PROJECTIONS)


async def rebuild(toy: Toy) -> int:
    """Rebuild the toy's projections from its event store."""
    return await rebuild_projections(
        toy.db, toy.store, project, PROJECTIONS, catalogue=TOY_CATALOGUE
    )


async def record_history(toy: Toy) -> None:
    """Several counters, several units of work, one event stored in its old v1 form."""
    await toy.record(
        [increment("a", 1, version=1), increment("a", 2, version=2)], expected_version=0
    )
    await toy.record([increment("b", 5, version=1)], expected_version=0)
    old_form = increment("c", 1, version=1).model_copy(
        update={"schema_version": 1, "payload": {"name": "c"}}
    )
    await toy.record([old_form], expected_version=0)
    await toy.record([increment("a", 4, version=3)], expected_version=2)


async def test_a_rebuild_gives_the_same_state_digest_and_leaves_the_log_alone(toy: Toy) -> None:
    await record_history(toy)
    before = await digest(toy)
    kernel_rows = [await toy.count(t) for t in (kernel.event_store, kernel.outbox)]

    replayed = await rebuild(toy)

    assert replayed == 5
    assert await digest(toy) == before
    assert [await toy.counter(name) for name in "abc"] == [7, 5, 1]
    assert [await toy.count(t) for t in (kernel.event_store, kernel.outbox)] == kernel_rows


async def test_a_corrupted_projection_changes_the_digest_and_a_rebuild_restores_it(
    toy: Toy,
) -> None:
    await record_history(toy)
    good = await digest(toy)

    async with toy.db.session() as session, session.begin():
        await session.execute(update(counters).where(counters.c.name == "a").values(value=999))
        await session.execute(delete(counters).where(counters.c.name == "b"))
        await session.execute(insert(counters).values(name="ghost", value=1))
    corrupted = await digest(toy)
    await rebuild(toy)

    assert corrupted != good
    assert await digest(toy) == good
    assert [await toy.counter(name) for name in ("a", "b", "ghost")] == [7, 5, None]


async def test_the_digest_depends_on_every_projected_value(toy: Toy) -> None:
    await toy.record([increment("a", 1, version=1)], expected_version=0)
    one = await digest(toy)
    await toy.record([increment("a", 1, version=2)], expected_version=1)

    assert await digest(toy) != one


async def test_republishing_the_whole_store_doubles_nothing_downstream(
    toy: Toy, tansu: TansuBroker, second_db_url: str
) -> None:
    """After the broker lost its log: the relay sends the whole store again (what
    POST /v1/admin/republish asks for), and a consumer that already applied the events
    de-duplicates them by event_id."""
    mirror = Toy(second_db_url, unique("mirror.events"))
    await mirror.create_tables()
    await create_topics(tansu.bootstrap, dead_letter_topic(toy.topic))
    relay = OutboxRelay(toy.db, kernel, tansu.bootstrap, service=unique("toy"))
    toy.after_commit = relay
    runner = fast_runner(
        service=unique("mirror"),
        bootstrap=tansu.bootstrap,
        topics=[toy.topic],
        uow_factory=mirror.uow,
        handlers=MIRROR_HANDLERS,
        catalogue=TOY_CATALOGUE,
        group_id=unique("group"),
    )
    try:
        async with relay_running(relay), runner_running(runner):
            await record_history(toy)
            await eventually(lambda: mirrored(mirror, "a", 7), what="the mirror caught up")

            assert await relay.republish_all() == 5
            # Same account key, so read after the republished events on its partition.
            sentinel = increment("a", 10, version=4)
            await toy.record([sentinel], expected_version=3)
            await eventually(lambda: mirrored(mirror, "a", 17), what="the sentinel mirrored")
            async with reading(tansu.bootstrap, toy.topic) as reader:
                records = await reader.until_count(11)
        # The whole store again, in its order, before what was committed after the request
        # (on SQLite the relay is handed that commit, and must not send it first).
        [in_order] = event_ids_by_key(records).values()
        assert in_order[5:10] == in_order[:5]
        assert in_order[10:] == [sentinel.event_id]
        duplicates = REGISTRY.get_sample_value(
            "revline_events_handled_total",
            {"service": runner.service, "topic": toy.topic, "outcome": "duplicate"},
        )
        assert len(records) == 11  # 5 events, 5 again, and the sentinel
        assert duplicates == 5
        assert [await mirror.counter(name) for name in "abc"] == [17, 5, 1]
        assert len(await mirror.inbox_ids()) == 6
        assert await mirror.count(kernel.event_store) == 6
        assert await toy.unsent() == 0
    finally:
        await mirror.close()


async def mirrored(mirror: Toy, name: str, value: int) -> bool:
    """True when the mirror's counter `name` holds `value`."""
    return await mirror.counter(name) == value
