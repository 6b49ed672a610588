"""sandbox/clock.py: a Retry back-off is recorded and skipped, or, paced, waited for on the virtual clock."""

from __future__ import annotations

import threading
import time

from sandbox.clock import Clock, Sleep


def _backing_off(clock: Clock, seconds: float) -> threading.Thread:
    thread = threading.Thread(target=clock.back_off, args=("retry", seconds, "arn:exec", "ReserveStock"))
    thread.start()
    deadline = time.monotonic() + 5
    while clock.next_wake() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    return thread


def test_a_back_off_is_recorded_and_skipped_by_default():
    clock = Clock()
    started = time.monotonic()
    clock.back_off("retry", 3600.0, "arn:exec", "ReserveStock")
    assert time.monotonic() - started < 1.0
    assert clock.sleeps() == [Sleep("retry", 3600.0, "arn:exec", "ReserveStock")]
    assert clock.next_wake() is None


def test_a_paced_back_off_waits_until_the_virtual_clock_passes_it():
    clock = Clock()
    clock.paced_back_offs = True
    before = clock.now()
    thread = _backing_off(clock, 3600.0)
    wake = clock.next_wake()
    assert wake is not None and before + 3600.0 <= wake <= clock.now() + 3600.0
    thread.join(0.1)
    assert thread.is_alive()  # an hour on the virtual clock has not passed
    clock.advance(3600.0)
    thread.join(5)
    assert not thread.is_alive() and clock.next_wake() is None
    assert [s.seconds for s in clock.sleeps("arn:exec")] == [3600.0]


def test_turning_pacing_off_ends_every_waiting_back_off():
    clock = Clock()
    clock.paced_back_offs = True
    thread = _backing_off(clock, 3600.0)
    clock.paced_back_offs = False
    thread.join(5)
    assert not thread.is_alive() and clock.next_wake() is None
