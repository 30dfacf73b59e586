"""The injectable clock: a fixed clock stands still until moved, and only knows UTC instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from revline_events.clock import FixedClock, SystemClock

NOON = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)


def test_fixed_clock_stands_still() -> None:
    clock = FixedClock(NOON)
    assert clock.now() == NOON
    assert clock.now() == NOON
    assert clock.today() == date(2025, 1, 31)


def test_fixed_clock_advances_across_a_month_end() -> None:
    clock = FixedClock(NOON)
    clock.advance(timedelta(hours=12))
    assert clock.now() == datetime(2025, 2, 1, 0, 0, tzinfo=UTC)
    assert clock.today() == date(2025, 2, 1)


def test_fixed_clock_can_be_set() -> None:
    clock = FixedClock(NOON)
    clock.set(datetime(2024, 2, 29, 23, 59, tzinfo=UTC))
    assert clock.today() == date(2024, 2, 29)


def test_fixed_clock_keeps_time_in_utc() -> None:
    tokyo = timezone(timedelta(hours=9))
    clock = FixedClock(datetime(2025, 2, 1, 8, 0, tzinfo=tokyo))
    assert clock.now() == datetime(2025, 1, 31, 23, 0, tzinfo=UTC)
    assert clock.now().utcoffset() == timedelta(0)
    assert clock.today() == date(2025, 1, 31)


def test_fixed_clock_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedClock(datetime(2025, 1, 31, 12, 0))  # noqa: DTZ001  # naive on purpose


def test_setting_a_fixed_clock_to_a_naive_datetime_is_refused() -> None:
    clock = FixedClock(NOON)
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2025, 3, 1, 0, 0))  # noqa: DTZ001  # naive on purpose
    assert clock.now() == NOON


def test_system_clock_reads_utc() -> None:
    assert SystemClock().now().utcoffset() == timedelta(0)
