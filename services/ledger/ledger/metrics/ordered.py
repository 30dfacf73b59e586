"""Values by key, and every value as one tuple in key order, kept up to date cheaply.

A Snapshot's lines, terms and quotes are tuples in key order. A Folding makes a new
Snapshot after every few facts, and at 100,000 accounts building those tuples again
by a lookup per key took 0.2 s of the 0.5 s a request spent after one new contract
(bench/README.md): a quarter of a million dict lookups in a heap that no longer fits
the cache, and a sort of the keys. `OrderedValues.ordered()` instead splices the tuple
it gave last: a copy of its items, a binary search per key set since, and an insert
for each new key. Past SPLICE_AT_MOST keys set it builds the tuple again, as one sort
and one lookup per key is then as quick.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Generic, Protocol, Self, TypeVar


class Comparable(Protocol):
    def __lt__(self, other: Self, /) -> bool: ...


K = TypeVar("K", bound=Comparable)
V = TypeVar("V")

# Keys set since the last tuple beyond which it is built again rather than spliced (each
# new key's insert moves the keys after it: a few are cheap, thousands are not).
SPLICE_AT_MOST = 256


class OrderedValues(Generic[K, V]):
    """A mapping of comparable keys to values, and `ordered()`: every value in key order."""

    def __init__(self) -> None:
        self._by_key: dict[K, V] = {}
        self._keys: list[K] = []  # sorted, the keys of `_ordered`
        self._ordered: tuple[V, ...] = ()
        self._set: set[K] = set()  # keys set since `_ordered` was made
        self._new: set[K] = set()  # of those, the ones not in `_keys`

    def __setitem__(self, key: K, value: V) -> None:
        if key not in self._by_key:
            self._new.add(key)
        self._by_key[key] = value
        self._set.add(key)

    def __getitem__(self, key: K) -> V:
        return self._by_key[key]

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def get(self, key: K) -> V | None:
        """The value of `key`, None when it has none."""
        return self._by_key.get(key)

    def ordered(self) -> tuple[V, ...]:
        """Every value, in the order of their keys (the same tuple while nothing was set)."""
        if not self._set:
            return self._ordered
        if len(self._set) > SPLICE_AT_MOST:
            self._keys += self._new
            self._keys.sort()
            self._ordered = tuple(map(self._by_key.__getitem__, self._keys))
        else:
            values = list(self._ordered)
            # In ascending key order, so that every smaller new key is in place already.
            for key in sorted(self._set):
                at = bisect_left(self._keys, key)
                if key in self._new:
                    self._keys.insert(at, key)
                    values.insert(at, self._by_key[key])
                else:
                    values[at] = self._by_key[key]
            self._ordered = tuple(values)
        self._set.clear()
        self._new.clear()
        return self._ordered
