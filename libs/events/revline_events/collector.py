"""Python's cyclic garbage collector, paused while a service builds or folds hundreds of
thousands of short-lived, acyclic objects: a rebuild of its projections (replay.py),
the ledger's metrics requests and dashboard.

Every 700 allocations start a collection, and a full one walks every tracked object
not frozen. In bench/README.md's measurements the collector took 14 of the ledger's
26 s cold metrics load at 100,000 accounts, a third of a metrics fold as known at a
past time, and a third of a rebuild of 480,000 events. What those build holds no
cycle, so reference counting frees it without the collector. Paused sections nest
(requests overlap on the event loop); the collector runs again when the last one
ends, and collects then whatever cycles were made meanwhile.
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
