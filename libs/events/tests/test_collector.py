"""The cyclic collector is paused while any section is open, overlapping sections
included, and afterwards is as it was before the first."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from revline_events.collector import collector_paused


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_overlapping_sections_keep_it_paused_until_the_last_one_ends(collector_on: None) -> None:
    first, second = collector_paused(), collector_paused()
    first.__enter__()
    second.__enter__()
    assert not gc.isenabled()
    first.__exit__(None, None, None)  # requests on the event loop end in any order
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_it_runs_again_after_a_section_that_raised(collector_on: None) -> None:
    with pytest.raises(ValueError), collector_paused():
        raise ValueError("a bad query")
    assert gc.isenabled()


def test_a_collector_off_before_stays_off() -> None:
    was = gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()
