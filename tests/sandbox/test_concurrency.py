"""sandbox/concurrency.py: at most `limit` invocations at once; a synchronous one (and an SQS mapping's batch, which
its poller retries: tests/sandbox/test_queues.py) over it is refused with 429 TooManyRequestsException, an
asynchronous one (an EventBridge delivery thread) waits for a slot."""

from __future__ import annotations

import threading

import pytest

from sandbox.concurrency import ASYNC_THREAD_PREFIX, THROTTLE_STATUS, ConcurrencyCap, throttled
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
    assert throttled(refused.value) and not throttled(JsonRESTError("ServiceException", "x"))
    release.set()
    holder.join(5)
    assert cap.throttled == 1 and cap.peak == 1 and cap.running == 0
    # A slot free again: the next one runs.
    assert cap(SPEC, {}, lambda: Invocation("{}", False, "", "r", 1.0)).errored is False


def test_an_asynchronous_invoke_waits_for_a_slot_and_runs():
    # Lambda retries a throttled async event for up to 6 h: throttling alone neither fails nor dead-letters it.
    cap = ConcurrencyCap(1)
    release, started = threading.Event(), threading.Event()
    holder = threading.Thread(target=cap, args=(SPEC, {}, _blocking(release, started)))
    holder.start()
    started.wait(5)
    ran: list[bool] = []
    waiter = threading.Thread(
        target=cap,
        args=(SPEC, {}, lambda: ran.append(True) or Invocation("{}", False, "", "r", 1.0)),
        name=f"{ASYNC_THREAD_PREFIX}_0",
    )
    waiter.start()
    waiter.join(0.2)
    assert ran == [] and cap.queued == 1 and cap.throttled == 0  # still waiting: the slot is taken
    release.set()
    holder.join(5)
    waiter.join(5)
    assert ran == [True] and cap.peak == 1


def test_a_limit_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1, got 0"):
        ConcurrencyCap(0)
