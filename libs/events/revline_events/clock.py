"""An injectable clock: business code asks it for today, never the wall clock directly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Where business code gets the current time and date (UTC)."""

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...

    def today(self) -> date:
        """The current UTC business date."""
        ...


class SystemClock:
    """The wall clock, in UTC. Only `main` modules construct it."""

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        return datetime.now(UTC)

    def today(self) -> date:
        """The current UTC date."""
        return self.now().date()


class FixedClock:
    """A clock that stands still until told to move: for tests and replays."""

    def __init__(self, at: datetime) -> None:
        self._at = _aware_utc(at)

    def now(self) -> datetime:
        """The instant the clock is set to."""
        return self._at

    def today(self) -> date:
        """The date the clock is set to."""
        return self._at.date()

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by `delta`."""
        self._at += delta

    def set(self, at: datetime) -> None:
        """Put the clock at `at`; raises ValueError when `at` is naive."""
        self._at = _aware_utc(at)


def _aware_utc(at: datetime) -> datetime:
    # astimezone() would read a naive value as the machine's local time.
    if at.tzinfo is None:
        raise ValueError("FixedClock needs a timezone-aware datetime")
    return at.astimezone(UTC)
