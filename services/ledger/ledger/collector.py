"""Python's cyclic garbage collector, paused while a metrics request loads, folds and
figures.

A metrics request can allocate a million objects (at 100,000 accounts: 700,000 facts
when the read model is loaded, the lines of a fold as known at a past time, month-end
MRR per account), and every 700 allocations start a collection; each full one walks
every tracked object not frozen. In bench/README.md's measurements the collector took
14 of a cold load's 26 s and a third of a fold as known at a past time. None of what
the metrics build holds a cycle, so reference counting frees it all without the
collector. Paused sections nest (requests overlap on the event loop); the collector
runs again when the last one ends, and collects then whatever cycles the rest of the
service made meanwhile.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


class _Pauses:
    def __init__(self) -> None:
        self.open = 0
        self.resume = False  # whether the collector ran when the first pause began


_PAUSES = _Pauses()


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector off for the block (and any block it overlaps), then as it was."""
    if _PAUSES.open == 0:
        _PAUSES.resume = gc.isenabled()
        gc.disable()
    _PAUSES.open += 1
    try:
        yield
    finally:
        _PAUSES.open -= 1
        if _PAUSES.open == 0 and _PAUSES.resume:
            gc.enable()
