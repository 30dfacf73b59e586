"""OrderedValues gives every value in key order after any sequence of sets, whether it
spliced its last tuple (a few keys set) or built it again (more than SPLICE_AT_MOST)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from ledger.metrics.ordered import SPLICE_AT_MOST, OrderedValues

# Batches of (key, value) sets: small ones splice, one past SPLICE_AT_MOST builds again.
keys = st.integers(0, 3 * SPLICE_AT_MOST)
batches = st.lists(
    st.one_of(
        st.lists(st.tuples(keys, st.integers()), max_size=8),
        st.lists(
            st.tuples(keys, st.integers()),
            min_size=SPLICE_AT_MOST + 1,
            max_size=SPLICE_AT_MOST + 40,
            unique_by=lambda kv: kv[0],
        ),
    ),
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(batches)
def test_ordered_is_every_value_in_key_order_after_each_batch(
    sets: list[list[tuple[int, int]]],
) -> None:
    ordered: OrderedValues[int, int] = OrderedValues()
    expected: dict[int, int] = {}
    for batch in sets:
        for key, value in batch:
            ordered[key] = value
            expected[key] = value
        assert ordered.ordered() == tuple(expected[k] for k in sorted(expected))
        assert ordered.ordered() is ordered.ordered()  # nothing set: the same tuple


def test_a_key_set_again_replaces_its_value_in_place() -> None:
    ordered: OrderedValues[str, str] = OrderedValues()
    for key in ("b", "d", "a"):
        ordered[key] = key.upper()
    assert ordered.ordered() == ("A", "B", "D")
    ordered["d"] = "D2"
    ordered["c"] = "C"
    assert ordered.ordered() == ("A", "B", "C", "D2")
    assert ("c" in ordered, ordered.get("e"), ordered["b"]) == (True, None, "B")
