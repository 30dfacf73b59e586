"""The dev stack's restart delays: doubling per exit in a row, capped, reset once stable."""

from __future__ import annotations

import signal

from revline_testkit.devstack import Backoff, describe_exit


def test_the_delay_doubles_per_quick_exit_up_to_the_cap() -> None:
    backoff = Backoff(first=0.5, most=10.0, stable_after=30.0)
    delays = [backoff.after_exit(stayed_up_s=1.0) for _ in range(7)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_a_run_that_stayed_up_resets_the_delay() -> None:
    backoff = Backoff(first=0.5, most=10.0, stable_after=30.0)
    for _ in range(4):
        backoff.after_exit(stayed_up_s=1.0)
    assert backoff.after_exit(stayed_up_s=30.0) == 0.5
    assert backoff.after_exit(stayed_up_s=29.9) == 1.0


def test_an_exit_by_signal_is_named() -> None:
    assert describe_exit(-int(signal.SIGKILL)) == "code -9 (SIGKILL)"
    assert describe_exit(3) == "code 3"
    assert describe_exit(-999) == "code -999"
