"""The event store: numbered appends, optimistic concurrency, one transaction with projections.

Every test runs on SQLite and on PostgreSQL (`db_url`).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
import revline_events.payloads  # noqa: F401  (registers the services' events in CATALOGUE)
from revline_events.catalogue import CATALOGUE, Catalogue, EventPayload, InvalidPayload
from revline_events.event_store import ConcurrencyConflict, EventStore
from revline_testkit.waiting import eventually
from sqlalchemy import func, select, text
from toy import Toy, counters, increment, kernel


class Refused(Exception):
    """A business rule refused the step after the events were recorded."""


class CountingNotifier:
    """An AfterCommit that counts its wake-ups."""

    def __init__(self) -> None:
        self.calls = 0

    def notify(self) -> None:
        self.calls += 1


async def table_counts(toy: Toy) -> dict[str, int]:
    """Rows in the event store, the outbox and the projection."""
    return {
        "event_store": await toy.count(kernel.event_store),
        "outbox": await toy.count(kernel.outbox),
        "counters": await toy.count(counters),
    }


async def test_append_numbers_events_from_the_expected_version_plus_one(toy: Toy) -> None:
    first, second = increment("a", 1, version=1), increment("a", 2, version=2)
    third = increment("a", 4, version=3)

    await toy.record([first, second], expected_version=0)
    await toy.record([third], expected_version=2)

    async with toy.db.session() as session:
        stream = await toy.store.read_stream(session, "counter-a")
        version = await toy.store.version(session, "counter-a")
        everything = [e async for e in toy.store.read_all(session, batch_size=2)]
    assert [e.stream_version for e in stream] == [1, 2, 3]
    assert stream == [first, second, third]
    assert everything == [first, second, third]
    assert version == 3
    assert await toy.counter("a") == 7


async def test_a_stream_with_no_events_is_at_version_zero(toy: Toy) -> None:
    async with toy.db.session() as session:
        assert await toy.store.version(session, "counter-nobody") == 0
        assert await toy.store.read_stream(session, "counter-nobody") == []


async def test_events_numbered_out_of_sequence_are_refused(toy: Toy) -> None:
    async with toy.uow() as uow:
        with pytest.raises(ValueError, match="numbered 2, expected 1"):
            await uow.append([increment("a", 1, version=2)], expected_version=0)

    assert await table_counts(toy) == {"event_store": 0, "outbox": 0, "counters": 0}


async def test_one_append_takes_the_events_of_one_stream_only(toy: Toy) -> None:
    async with toy.uow() as uow:
        with pytest.raises(ValueError, match="one stream"):
            await uow.append(
                [increment("a", 1, version=1), increment("b", 1, version=2)], expected_version=0
            )


async def test_appending_at_a_stale_version_conflicts_and_writes_nothing(toy: Toy) -> None:
    await toy.record(
        [increment("a", 1, version=1), increment("a", 1, version=2)], expected_version=0
    )

    with pytest.raises(ConcurrencyConflict) as caught:
        await toy.record([increment("a", 100, version=2)], expected_version=1)

    assert (caught.value.expected, caught.value.actual) == (1, 2)
    assert await table_counts(toy) == {"event_store": 2, "outbox": 2, "counters": 1}
    assert await toy.counter("a") == 2


async def test_two_racing_writers_of_version_1_one_wins_and_one_conflicts(toy: Toy) -> None:
    async def write_version_1(by: int) -> int:
        async with toy.uow() as uow:
            await uow.append([increment("a", by, version=1)], expected_version=0)
            await uow.commit()
        return by

    results = await asyncio.gather(write_version_1(1), write_version_1(10), return_exceptions=True)

    winners = [r for r in results if isinstance(r, int)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1, results
    assert len(losers) == 1 and isinstance(losers[0], ConcurrencyConflict), results
    assert await table_counts(toy) == {"event_store": 1, "outbox": 1, "counters": 1}
    assert await toy.counter("a") == winners[0]


async def test_a_writer_that_checked_the_version_before_the_other_committed_still_loses(
    toy: Toy,
) -> None:
    """The unique (stream_id, stream_version) key catches what the version check cannot see.

    PostgreSQL: the second writer reads version 0 (the first has not committed) and
    blocks on the unique index; when the first commits it fails there. SQLite: the
    second writer's transaction waits for the first to finish and then sees version 1.
    """
    errors: list[ConcurrencyConflict] = []

    async def second_writer() -> None:
        async with toy.db.session() as session, session.begin():
            try:
                await toy.store.append(session, [increment("a", 10, version=1)], expected_version=0)
            except ConcurrencyConflict as error:
                errors.append(error)
                raise

    async with toy.db.session() as first, first.begin():
        await toy.store.append(first, [increment("a", 1, version=1)], expected_version=0)
        second = asyncio.create_task(second_writer())
        if toy.db.is_postgres:
            await eventually(lambda: waiting_on_a_lock(toy), what="the second writer blocked")
    with pytest.raises(ConcurrencyConflict):
        await second

    [conflict] = errors
    assert conflict.actual == (None if toy.db.is_postgres else 1)
    async with toy.db.session() as session:
        [stored] = await toy.store.read_stream(session, "counter-a")
    assert stored.payload == {"name": "a", "by": 1}


async def waiting_on_a_lock(toy: Toy) -> bool:
    """True when a session of this PostgreSQL database waits for a row or index lock."""
    async with toy.db.engine.connect() as conn:
        waiting = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


async def test_events_projection_and_outbox_commit_together(toy: Toy) -> None:
    notifier = CountingNotifier()
    toy.after_commit = notifier

    async with toy.uow() as uow:
        await uow.append([increment("a", 5, version=1)], expected_version=0)
        await uow.commit()

    assert await table_counts(toy) == {"event_store": 1, "outbox": 1, "counters": 1}
    assert await toy.counter("a") == 5
    assert await toy.unsent() == 1
    assert notifier.calls == 1


async def test_a_failure_after_record_rolls_back_events_projection_and_outbox(toy: Toy) -> None:
    notifier = CountingNotifier()
    toy.after_commit = notifier

    with pytest.raises(Refused):
        async with toy.uow() as uow:
            await uow.append([increment("a", 5, version=1)], expected_version=0)
            inside = {
                t.name: await uow.session.scalar(select(func.count()).select_from(t))
                for t in (kernel.event_store, kernel.outbox, counters)
            }
            raise Refused

    assert inside == {"event_store": 1, "outbox": 1, "counters": 1}
    assert await table_counts(toy) == {"event_store": 0, "outbox": 0, "counters": 0}
    assert notifier.calls == 0


async def test_leaving_a_unit_of_work_without_commit_keeps_nothing(toy: Toy) -> None:
    async with toy.uow() as uow:
        await uow.append([increment("a", 5, version=1)], expected_version=0)

    assert await table_counts(toy) == {"event_store": 0, "outbox": 0, "counters": 0}


async def test_an_event_the_catalogue_cannot_parse_is_not_recorded(toy: Toy) -> None:
    broken = increment("a", 1, version=1).model_copy(update={"payload": {"name": "a", "by": "x"}})

    with pytest.raises(InvalidPayload):
        async with toy.uow() as uow:
            await uow.append([broken], expected_version=0)
            await uow.commit()

    assert await table_counts(toy) == {"event_store": 0, "outbox": 0, "counters": 0}


async def test_the_store_gives_back_the_instant_it_was_given_in_utc(toy: Toy) -> None:
    tokyo = timezone(timedelta(hours=9))
    envelope = increment("a", 1, version=1).model_copy(
        update={"occurred_at": datetime(2025, 1, 15, 18, 30, tzinfo=tokyo)}
    )

    await toy.record([envelope], expected_version=0)

    async with toy.db.session() as session:
        [stored] = await toy.store.read_stream(session, "counter-a")
    assert stored.occurred_at == datetime(2025, 1, 15, 9, 30, tzinfo=UTC)
    assert stored.occurred_at.utcoffset() == timedelta(0)
    assert stored == envelope


async def test_new_streams_are_appended_and_projected_together(toy: Toy) -> None:
    async with toy.uow() as uow:
        counted = [("a", 98), ("c", 99), ("e", 101)]
        await uow.append_new_streams([increment(n, by, version=1) for n, by in counted])
        await uow.commit()

    assert await table_counts(toy) == {"event_store": 3, "outbox": 3, "counters": 3}
    assert [await toy.counter(n) for n in "ace"] == [98, 99, 101]
    assert await toy.unsent() == 3


async def test_a_new_stream_that_exists_conflicts_and_writes_none_of_the_batch(toy: Toy) -> None:
    await toy.record([increment("b", 1, version=1)], expected_version=0)

    with pytest.raises(ConcurrencyConflict):
        async with toy.uow() as uow:
            await uow.append_new_streams([increment("a", 5, version=1),
                                          increment("b", 5, version=1)])  # fmt: skip
            await uow.commit()

    assert await table_counts(toy) == {"event_store": 1, "outbox": 1, "counters": 1}
    assert (await toy.counter("a"), await toy.counter("b")) == (None, 1)


async def test_new_streams_start_at_version_1_and_are_named_once(toy: Toy) -> None:
    async with toy.uow() as uow:
        with pytest.raises(ValueError, match="a new stream starts at 1"):
            await uow.append_new_streams([increment("a", 1, version=2)])
        with pytest.raises(ValueError, match="one event per stream"):
            await uow.append_new_streams(
                [increment("a", 1, version=1), increment("a", 2, version=1)]
            )

    assert await table_counts(toy) == {"event_store": 0, "outbox": 0, "counters": 0}


async def test_an_unpublished_event_type_is_kept_in_the_log_and_queued_for_no_topic(
    toy: Toy,
) -> None:
    """A service's own bookkeeping (`Catalogue.register(..., published=False)`): stored and
    projected like any event, so rebuild refolds it, but no outbox row, no wake-up."""
    notifier = CountingNotifier()
    toy.after_commit = notifier
    toy.store = EventStore(kernel, toy.topic, unpublished={"CounterIncremented"})

    await toy.record(
        [increment("a", 1, version=1), increment("a", 2, version=2)], expected_version=0
    )

    assert await table_counts(toy) == {"event_store": 2, "outbox": 0, "counters": 1}
    assert await toy.counter("a") == 3
    assert notifier.calls == 0


def test_the_catalogue_names_the_types_registered_unpublished() -> None:
    catalogue = Catalogue()

    @catalogue.register("Noted", published=False)
    class Noted(EventPayload):
        what: str

    @catalogue.register("Announced")
    class Announced(EventPayload):
        what: str

    assert catalogue.unpublished() == {"Noted"}
    assert {"ContractFactsNoted", "QuoteFactsNoted"} <= CATALOGUE.unpublished()
    assert "InvoiceAmountApplied" not in CATALOGUE.unpublished()
