"""Order ids: opaque, and sorting in the order the orders were made."""

from __future__ import annotations

import secrets

from revline_events.clock import Clock


class OrderIds:
    """Makes `or_` + a millisecond timestamp (12 hex digits) + 10 random hex digits.

    The timestamp never repeats or goes back within one issuer: a backlog of
    contract events handled within one millisecond still gets ids in handling
    order, so listing by id lists oldest first.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._last_millis = 0

    def next(self) -> str:
        """A fresh order id, after every id this issuer made before."""
        millis = max(int(self._clock.now().timestamp() * 1000), self._last_millis + 1)
        self._last_millis = millis
        return f"or_{millis:012x}{secrets.token_hex(5)}"
