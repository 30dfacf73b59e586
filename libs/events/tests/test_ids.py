"""The one id scheme: time-sortable on the injected clock, or derived from what caused it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from revline_events.clock import FixedClock
from revline_events.ids import IdGenerator, derived_id

NOON = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)
NOON_MS_HEX = f"{int(NOON.timestamp() * 1000):012x}"  # 0194bc3b7200


def test_an_id_is_the_prefix_the_clock_time_in_ms_and_ten_more_hex_digits() -> None:
    made = IdGenerator(FixedClock(NOON)).new("or")

    assert re.fullmatch(r"or_[0-9a-f]{22}", made), made
    assert made[3:15] == NOON_MS_HEX == "0194bc3b7200"


def test_ids_sort_by_the_clock_time_not_the_order_asked() -> None:
    clock = FixedClock(NOON)
    ids = IdGenerator(clock)
    later = ids.new("qt")
    clock.set(NOON - timedelta(days=400))
    other = IdGenerator(clock)  # another process, whose clock reads earlier
    earlier = other.new("qt")

    assert earlier < later
    assert earlier[3:15] == f"{int((NOON - timedelta(days=400)).timestamp() * 1000):012x}"


def test_ids_of_one_generator_sort_in_the_order_made_while_the_clock_stands_still() -> None:
    clock = FixedClock(NOON)
    ids = IdGenerator(clock)

    made = [ids.new("inv") for _ in range(1000)]

    assert made == sorted(made)
    assert len(set(made)) == 1000
    assert {m[4:16] for m in made} == {NOON_MS_HEX}  # the time stays the clock's


def test_a_clock_stepping_back_never_makes_an_id_sort_before_an_earlier_one() -> None:
    clock = FixedClock(NOON)
    ids = IdGenerator(clock)
    first = ids.new("br")
    clock.set(NOON - timedelta(hours=1))

    second = ids.new("br")
    clock.set(NOON + timedelta(milliseconds=1))
    third = ids.new("br")

    assert first < second < third
    assert third[3:15] == f"{int(NOON.timestamp() * 1000) + 1:012x}"


def test_a_derived_id_is_the_same_for_the_same_inputs() -> None:
    accepted_at = datetime(2025, 1, 15, 9, 30, tzinfo=UTC)

    first = derived_id("ct", accepted_at, "evt-1")
    again = derived_id("ct", accepted_at, "evt-1")

    assert first == again
    assert first == "ct_0194694c5dc0" + "7b409f932d"  # ms of 09:30 + sha256("evt-1")[:10]


def test_a_derived_id_changes_with_any_part_and_joins_parts_with_colons() -> None:
    at = datetime(2025, 1, 15, 9, 30, tzinfo=UTC)

    names = {derived_id("sub", at, "evt-1", index) for index in range(50)}

    assert len(names) == 50
    assert derived_id("sub", at, "evt-1", 3) == derived_id("sub", at, "evt-1:3")
    assert derived_id("sub", at, "evt-2", 3) != derived_id("sub", at, "evt-1", 3)


def test_a_derived_id_takes_the_instant_whatever_its_offset() -> None:
    tokyo = timezone(timedelta(hours=9))
    at_utc = datetime(2025, 1, 15, 9, 30, tzinfo=UTC)

    assert derived_id("ct", at_utc.astimezone(tokyo), "e") == derived_id("ct", at_utc, "e")


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        derived_id("ct", datetime(2025, 1, 15, 9, 30), "e")  # noqa: DTZ001
