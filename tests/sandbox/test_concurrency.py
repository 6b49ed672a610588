"""sandbox/concurrency.py: at most `limit` invocations at once; a synchronous one over it is refused with
429 TooManyRequestsException, an asynchronous one (an EventBridge delivery thread) and an SQS mapping's batch
wait for a slot; with no invocation running the clock skips to the earliest pending back-off."""

from __future__ import annotations

import threading
import time

import pytest

from sandbox.clock import Clock
from sandbox.concurrency import (
    ASYNC_THREAD_PREFIX,
    IDLE_SKIP,
    POLLER_THREAD_PREFIX,
    THROTTLE_STATUS,
    ConcurrencyCap,
)
from sandbox.lambda_runtime import FunctionSpec, Invocation

SPEC = FunctionSpec("f", "arn:aws:lambda:eu-west-1:123456789012:function:f", "m.handler", {}, 3.0, 128, "eu-west-1")


def _blocking(release: threading.Event, started: threading.Event):
    def proceed() -> Invocation:
        started.set()
        release.wait(5)
        return Invocation("{}", False, "", "r", 1.0)

    return proceed


def test_a_synchronous_invoke_over_the_limit_is_throttled():
    from moto.core.exceptions import JsonRESTError

    cap = ConcurrencyCap(1)
    release, started = threading.Event(), threading.Event()
    holder = threading.Thread(target=cap, args=(SPEC, {}, _blocking(release, started)))
    holder.start()
    started.wait(5)
    with pytest.raises(JsonRESTError) as refused:
        cap(SPEC, {}, lambda: Invocation("{}", False, "", "r", 1.0))
    assert refused.value.code == THROTTLE_STATUS and "TooManyRequestsException" in str(refused.value.error_type)
    release.set()
    holder.join(5)
    assert cap.throttled == 1 and cap.peak == 1 and cap.running == 0
    # A slot free again: the next one runs.
    assert cap(SPEC, {}, lambda: Invocation("{}", False, "", "r", 1.0)).errored is False


@pytest.mark.parametrize("thread_prefix", [ASYNC_THREAD_PREFIX, POLLER_THREAD_PREFIX])
def test_an_asynchronous_invoke_or_a_queue_batch_waits_for_a_slot_and_runs(thread_prefix: str):
    # Lambda retries a throttled async event for up to 6 h, an SQS mapping retries a throttled batch:
    # throttling alone neither fails nor dead-letters either.
    cap = ConcurrencyCap(1)
    release, started = threading.Event(), threading.Event()
    holder = threading.Thread(target=cap, args=(SPEC, {}, _blocking(release, started)))
    holder.start()
    started.wait(5)
    ran: list[bool] = []
    waiter = threading.Thread(
        target=cap,
        args=(SPEC, {}, lambda: ran.append(True) or Invocation("{}", False, "", "r", 1.0)),
        name=f"{thread_prefix}_0",
    )
    waiter.start()
    waiter.join(0.2)
    assert ran == [] and cap.queued == 1 and cap.throttled == 0  # still waiting: the slot is taken
    release.set()
    holder.join(5)
    waiter.join(5)
    assert ran == [True] and cap.peak == 1


def test_the_clock_skips_to_the_earliest_back_off_only_while_nothing_runs():
    clock, cap = Clock(), ConcurrencyCap(1)
    clock.paced_back_offs = True
    backing_off = threading.Thread(target=clock.back_off, args=("retry", 3600.0))
    backing_off.start()
    while clock.next_wake() is None:
        time.sleep(0.001)
    release, started = threading.Event(), threading.Event()
    holder = threading.Thread(target=cap, args=(SPEC, {}, _blocking(release, started)))
    holder.start()
    started.wait(5)
    assert cap.skip_idle_time(clock) == 0.0 and backing_off.is_alive()  # an invocation runs: time runs real
    release.set()
    holder.join(5)
    skipped = cap.skip_idle_time(clock)
    backing_off.join(5)
    assert 3599.0 < skipped <= 3600.0 and not backing_off.is_alive() and clock.next_wake() is None
    assert cap.skip_idle_time(clock) == 0.0  # nothing waits
    assert [(s.kind, s.seconds) for s in clock.sleeps() if s.kind == IDLE_SKIP] == [(IDLE_SKIP, skipped)]


def test_a_limit_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1, got 0"):
        ConcurrencyCap(0)
