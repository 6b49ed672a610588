"""sandbox/clock.py: a Retry back-off is recorded and skipped, or, paced, waited for on the virtual clock."""

from __future__ import annotations

import threading
import time

from sandbox.clock import IDLE_SKIP, Clock, Sleep


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


def _quiet_after(clock: Clock) -> None:
    deadline = time.monotonic() + 5
    while not clock.quiet() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_the_clock_skips_to_the_earliest_back_off_only_while_the_sandbox_is_quiet():
    clock = Clock()
    clock.paced_back_offs = True
    backing_off = _backing_off(clock, 3600.0)
    with clock.running():  # an invocation runs: time runs real
        assert not clock.quiet() and clock.skip_idle_time() == 0.0 and backing_off.is_alive()
    assert not clock.quiet()  # one just ended: the next task of its workflow may be about to start
    assert clock.skip_idle_time() == 0.0
    _quiet_after(clock)
    skipped = clock.skip_idle_time()
    backing_off.join(5)
    assert 3599.0 < skipped <= 3600.0 and not backing_off.is_alive() and clock.next_wake() is None
    assert clock.skip_idle_time() == 0.0  # nothing waits
    assert [(s.kind, s.seconds) for s in clock.sleeps() if s.kind == IDLE_SKIP] == [(IDLE_SKIP, skipped)]


def test_a_skip_while_quiet_moves_the_clock_to_the_time_given_and_records_it():
    clock = Clock()
    _quiet_after(clock)
    before = clock.now()
    assert clock.skip_while_quiet(before - 1, "queue-visibility") == 0.0  # not ahead: nothing to skip
    skipped = clock.skip_while_quiet(before + 360, "queue-visibility", "sqs")
    assert 359.0 < skipped <= 360.0 and clock.now() >= before + 360
    assert [(s.kind, s.state) for s in clock.sleeps()] == [("queue-visibility", "sqs")]
    assert clock.wait_idle(0.1)
