"""The kernel stamps envelopes: ids, producer, correlation, causation, time and versions."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from revline_events.clock import FixedClock
from revline_events.event_store import ConcurrencyConflict
from revline_events.received import Received
from revline_events.stamping import NewStream, Stamper
from revline_events.unit_of_work import UnitOfWork
from toy import ClickRecorded, CounterIncremented, Toy, kernel, project, upstream

BERLIN = timezone(timedelta(hours=1))


def click_received() -> Received[ClickRecorded]:
    """An upstream ClickRecorded, part of journey-1, as a reaction receives it."""
    payload = ClickRecorded(name="a", clicks=2)
    envelope = upstream(payload).model_copy(update={"correlation_id": "journey-1"})
    return Received(envelope, payload)


def by(n: int, name: str = "a") -> CounterIncremented:
    return CounterIncremented(name=name, by=n)


def test_events_are_numbered_from_the_expected_version_and_stamped_by_the_producer() -> None:
    stamper = Stamper("toy", FixedClock(datetime(2025, 3, 1, 0, 30, tzinfo=BERLIN)))

    stamped = stamper.stamp(
        [by(1), by(2), by(3)],
        stream_id="counter-a",
        account_id="acme",
        expected_version=4,
        cause=None,
        effective_date=date(2025, 3, 1),
    )

    assert [e.stream_version for e in stamped] == [5, 6, 7]
    assert {(e.stream_id, e.account_id, e.producer) for e in stamped} == {
        ("counter-a", "acme", "toy")
    }
    assert {e.occurred_at for e in stamped} == {datetime(2025, 2, 28, 23, 30, tzinfo=UTC)}
    assert all(e.occurred_at.utcoffset() == timedelta(0) for e in stamped)
    assert {e.effective_date for e in stamped} == {date(2025, 3, 1)}
    assert [e.payload["by"] for e in stamped] == [1, 2, 3]
    assert [(e.type, e.schema_version) for e in stamped] == [("CounterIncremented", 2)] * 3


def test_every_event_gets_a_fresh_uuid_event_id() -> None:
    stamper = Stamper("toy", FixedClock(datetime(2025, 3, 1, tzinfo=UTC)))

    stamped = stamper.stamp(
        [by(n) for n in range(50)],
        stream_id="counter-a",
        account_id="acme",
        expected_version=0,
        cause=None,
    )

    ids = [e.event_id for e in stamped]
    assert len(set(ids)) == 50
    assert all(str(uuid.UUID(i)) == i for i in ids)


def test_a_reaction_s_events_correlate_with_and_are_caused_by_the_upstream_event() -> None:
    cause = click_received()
    stamper = Stamper("toy", FixedClock(datetime(2025, 3, 1, tzinfo=UTC)), lambda: "request-9")

    stamped = stamper.stamp(
        [by(1), by(1)], stream_id="counter-a", account_id="acme", expected_version=0, cause=cause
    )

    assert {e.correlation_id for e in stamped} == {"journey-1"}
    assert {e.causation_id for e in stamped} == {cause.event_id}


def test_a_command_s_events_take_the_ambient_correlation_id_and_have_no_cause() -> None:
    stamper = Stamper("toy", FixedClock(datetime(2025, 3, 1, tzinfo=UTC)), lambda: "request-9")

    stamped = stamper.stamp(
        [by(1), by(2)], stream_id="counter-a", account_id="acme", expected_version=0, cause=None
    )

    assert {(e.correlation_id, e.causation_id) for e in stamped} == {("request-9", None)}


def test_without_a_correlation_the_first_event_s_id_correlates_every_event_of_the_call() -> None:
    stamper = Stamper("toy", FixedClock(datetime(2025, 3, 1, tzinfo=UTC)), lambda: None)

    first, second = stamper.stamp(
        [by(1), by(2)], stream_id="counter-a", account_id="acme", expected_version=0, cause=None
    )
    [alone] = stamper.stamp(
        [by(3)], stream_id="counter-a", account_id="acme", expected_version=2, cause=None
    )

    assert first.correlation_id == second.correlation_id == first.event_id
    assert alone.correlation_id == alone.event_id != first.event_id


def test_new_streams_start_at_version_1_each_with_its_own_account_and_date() -> None:
    clock = FixedClock(datetime(2025, 3, 1, 8, 0, tzinfo=UTC))
    stamper = Stamper("toy", clock)
    cause = click_received()

    stamped = stamper.stamp_new_streams(
        [
            NewStream("counter-a", "acme", by(1), date(2025, 3, 1)),
            NewStream("counter-b", "globex", by(2)),
        ],
        cause=cause,
    )

    assert [(e.stream_id, e.stream_version, e.account_id) for e in stamped] == [
        ("counter-a", 1, "acme"),
        ("counter-b", 1, "globex"),
    ]
    assert [e.effective_date for e in stamped] == [date(2025, 3, 1), None]
    assert {(e.correlation_id, e.causation_id) for e in stamped} == {("journey-1", cause.event_id)}
    assert {e.occurred_at for e in stamped} == {clock.now()}


def test_a_new_stream_with_its_own_cause_is_correlated_with_and_caused_by_that_one() -> None:
    stamper = Stamper("toy", FixedClock(datetime(2025, 3, 1, tzinfo=UTC)), lambda: "request-9")
    first, second = click_received(), click_received()
    second = Received(
        second.envelope.model_copy(update={"correlation_id": "journey-2"}), second.payload
    )

    stamped = stamper.stamp_new_streams(
        [
            NewStream("counter-a", "acme", by(1), cause=first),
            NewStream("counter-b", "acme", by(2), cause=second),
            NewStream("counter-c", "acme", by(3)),
        ],
        cause=None,
    )

    assert [(e.correlation_id, e.causation_id) for e in stamped] == [
        ("journey-1", first.event_id),
        ("journey-2", second.event_id),
        ("request-9", None),
    ]


def test_the_clock_moving_moves_occurred_at() -> None:
    clock = FixedClock(datetime(2025, 3, 1, 8, 0, tzinfo=UTC))
    stamper = Stamper("toy", clock)
    [before] = stamper.stamp(
        [by(1)], stream_id="counter-a", account_id="acme", expected_version=0, cause=None
    )
    clock.advance(timedelta(days=31))

    [after] = stamper.stamp(
        [by(1)], stream_id="counter-a", account_id="acme", expected_version=1, cause=None
    )

    assert (before.occurred_at, after.occurred_at) == (
        datetime(2025, 3, 1, 8, 0, tzinfo=UTC),
        datetime(2025, 4, 1, 8, 0, tzinfo=UTC),
    )


async def test_record_stamps_appends_and_projects_in_the_unit_of_work(toy: Toy) -> None:
    cause = click_received()
    async with toy.uow() as uow:
        returned = await uow.record(
            [by(2), by(5)],
            stream_id="counter-a",
            account_id="acme",
            expected_version=0,
            cause=cause,
            effective_date=date(2025, 1, 15),
        )
        await uow.commit()

    async with toy.db.session() as session:
        stored = await toy.store.read_stream(session, "counter-a")
    assert stored == returned
    assert [(e.stream_version, e.producer, e.causation_id) for e in stored] == [
        (1, "toy", cause.event_id),
        (2, "toy", cause.event_id),
    ]
    assert {e.occurred_at for e in stored} == {datetime(2025, 1, 15, 9, 30, tzinfo=UTC)}
    assert await toy.counter("a") == 7
    assert await toy.unsent() == 2


async def test_record_at_a_stale_expected_version_conflicts(toy: Toy) -> None:
    async with toy.uow() as uow:
        await uow.record(
            [by(1)], stream_id="counter-a", account_id="acme", expected_version=0, cause=None
        )
        await uow.commit()

    with pytest.raises(ConcurrencyConflict):
        async with toy.uow() as uow:
            await uow.record(
                [by(1)], stream_id="counter-a", account_id="acme", expected_version=0, cause=None
            )

    assert await toy.counter("a") == 1


async def test_record_new_streams_stamps_and_records_each_first_event(toy: Toy) -> None:
    async with toy.uow() as uow:
        await uow.record_new_streams(
            [NewStream("counter-a", "acme", by(3)), NewStream("counter-b", "acme", by(4, "b"))],
            cause=None,
        )
        await uow.commit()

    assert (await toy.counter("a"), await toy.counter("b")) == (3, 4)
    async with toy.db.session() as session:
        [a] = await toy.store.read_stream(session, "counter-a")
        [b] = await toy.store.read_stream(session, "counter-b")
    assert (a.stream_version, b.stream_version) == (1, 1)
    assert a.correlation_id == b.correlation_id == a.event_id


class ToySettings:
    """Stands in for a service's settings object."""

    payment_terms_days = 30


def test_the_unit_of_work_hands_handlers_the_clock_settings_and_ids(toy: Toy) -> None:
    clock = FixedClock(datetime(2025, 3, 1, 8, 0, tzinfo=UTC))
    uow = UnitOfWork(
        toy.db, kernel, toy.store, project, producer="toy", clock=clock, settings=ToySettings()
    )

    assert uow.clock.today() == date(2025, 3, 1)
    assert uow.settings_as(ToySettings).payment_terms_days == 30
    with pytest.raises(TypeError, match="settings are ToySettings, not int"):
        uow.settings_as(int)
    first, second = uow.new_id("or"), uow.new_id("or")
    assert first < second
    assert first[3:15] == f"{int(clock.now().timestamp() * 1000):012x}"
