"""Opaque ids that sort by time: the one id scheme of every service.

An id is `<prefix>_` + the time in milliseconds (12 hex digits) + 10 hex digits,
so ids of one prefix sort lexicographically by the time they carry. The time
comes from the injected clock, never the wall clock, so a test's FixedClock
names things at its own instant.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from revline_events.clock import Clock

_TIME_DIGITS = 12  # milliseconds since 1970 in hex: good until the year 10889
_TAIL_DIGITS = 10
_TAIL_LIMIT = 16**_TAIL_DIGITS


def _millis(at: datetime) -> int:
    if at.tzinfo is None:
        raise ValueError("an id's time must be timezone-aware")
    return int(at.timestamp() * 1000)


def _format(prefix: str, millis: int, tail: int) -> str:
    return f"{prefix}_{millis:0{_TIME_DIGITS}x}{tail:0{_TAIL_DIGITS}x}"


class IdGenerator:
    """Makes fresh ids on the clock's time, each after every id it made before.

    The tail is random for the first id of a millisecond and counts up from it
    for the next ones, so a burst within one millisecond (or a clock that stands
    still, or steps back) still gets ids in the order they were asked for. One
    generator per running service; ids from two processes in the same millisecond
    are unique (40 random bits) but not ordered between them.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._last_millis = -1
        self._last_tail = 0

    def new(self, prefix: str) -> str:
        """A fresh id `<prefix>_<12 hex ms><10 hex>` sorting after every earlier one."""
        millis = _millis(self._clock.now())
        if millis > self._last_millis:
            tail = secrets.randbelow(_TAIL_LIMIT // 2)  # room to count up within the ms
        else:
            millis, tail = self._last_millis, self._last_tail + 1
            if tail >= _TAIL_LIMIT:
                millis, tail = millis + 1, 0
        self._last_millis, self._last_tail = millis, tail
        return _format(prefix, millis, tail)


def derived_id(prefix: str, at: datetime, *parts: object) -> str:
    """An id that is a function of its inputs: `<prefix>_<12 hex ms of at>` + 10 hex
    digits of SHA-256 over `parts` joined with ":".

    For what a reaction names from the event it handles (the event's occurred_at and
    event_id, say): handling the same event again, in a replay on an empty
    database, names it the same. Raises ValueError when `at` is naive.
    """
    text = ":".join(str(part) for part in parts)
    digest = hashlib.sha256(text.encode()).hexdigest()[:_TAIL_DIGITS]
    return f"{prefix}_{_millis(at):0{_TIME_DIGITS}x}{digest}"
