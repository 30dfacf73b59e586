"""Wait for an outcome with a deadline, never a fixed sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class OutcomeNotReached(AssertionError):
    """The awaited outcome did not happen before the deadline."""


async def eventually(
    probe: Callable[[], Awaitable[T | None]],
    *,
    within: float = 15.0,
    interval: float = 0.02,
    what: str = "the outcome",
) -> T:
    """Call `probe` until it returns something truthy, and return that; fail at the deadline."""
    deadline = time.monotonic() + within
    last: T | None = None
    while True:
        last = await probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise OutcomeNotReached(f"{what} not reached within {within}s (last: {last!r})")
        await asyncio.sleep(interval)
