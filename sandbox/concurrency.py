"""Lambda's concurrency limit in the sandbox: at most ``limit`` invocations run at once (an account's
unreserved concurrency), as Lambda enforces it (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html):

- a **synchronous** invoke over the limit (a workflow task) is refused at once with 429
  ``TooManyRequestsException``: Step Functions sees ``Lambda.TooManyRequestsException`` and retries as
  the state's Retry says (throttling has a Retry of its own, the longest: README, the retry table). In
  AWS the back-off gives running invocations time to finish; in the sandbox it does so when the clock
  paces back-offs (``Clock.paced_back_offs``, sandbox/clock.py), which ``make burst`` turns on;
- an **asynchronous** one (an EventBridge delivery to a subscriber) waits in Lambda's internal queue and
  runs when a slot frees: Lambda retries throttled events with back-off for up to 6 hours
  (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html), so throttling
  alone neither loses nor dead-letters one;
- an **SQS event source mapping**'s batch (sandbox/queues.py) waits for a slot too: "If the invocation
  fails due to throttling, Lambda gradually backs off retries ... Lambda continues to retry the message
  until the message's timestamp exceeds your queue's visibility timeout"
  (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html). A batch that waits is
  not received again, so throttling alone does not count towards maxReceiveCount. The sandbox does not
  bound the wait by the visibility timeout (the notifications buffer's is 360 s; a slot frees within
  seconds here).

    cap = ConcurrencyCap(10)
    with Sandbox("cdk.out", invocation_hook=cap) as sandbox:
        ...
        cap.peak, cap.throttled, cap.queued

The sandbox's EventBridge deliveries run on threads named ``eventbridge*`` (sandbox/events.py), its SQS
pollers' batches on ``sqs-poller*`` (sandbox/queues.py): that is how an invocation is known not to be
a synchronous one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sandbox.clock import Clock
from sandbox.lambda_runtime import FunctionSpec, Invocation

ASYNC_THREAD_PREFIX = "eventbridge"
POLLER_THREAD_PREFIX = "sqs-poller"
THROTTLE_STATUS = 429
IDLE_SKIP = "idle-skip"  # the kind of the clock's record of a skip (Clock.sleeps())


class ConcurrencyCap:
    """An invocation hook (``Sandbox(invocation_hook=...)``) that enforces a concurrency limit."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"the concurrency limit must be at least 1, got {limit}")
        self.limit = limit
        self.running = 0
        self.peak = 0
        self.throttled = 0  # synchronous invokes refused with 429 (the workflow's Retry backs off and tries again)
        self.queued = 0  # asynchronous invokes and queue batches that waited for a slot
        self._slots = threading.Condition()

    def __call__(self, spec: FunctionSpec, event: Any, proceed: Callable[[], Invocation]) -> Invocation:
        waits = threading.current_thread().name.startswith((ASYNC_THREAD_PREFIX, POLLER_THREAD_PREFIX))
        with self._slots:
            if self.running >= self.limit:
                if not waits:
                    self.throttled += 1
                    raise _throttle(spec, self.limit)
                self.queued += 1
                self._slots.wait_for(lambda: self.running < self.limit)
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            return proceed()
        finally:
            with self._slots:
                self.running -= 1
                self._slots.notify()

    def skip_idle_time(self, clock: Clock) -> float:
        """While no invocation runs, move `clock` to the earliest pending Retry back-off (sandbox/clock.py):
        nothing would have finished meanwhile, so no slot frees sooner than in AWS. The seconds skipped."""
        with self._slots:
            wake = clock.next_wake()
            skipped = 0.0 if self.running or wake is None else wake - clock.now()
            if skipped > 0:
                clock.advance(skipped)
                clock.record(IDLE_SKIP, skipped, None, "lambda")
        return max(skipped, 0.0)


def _throttle(spec: FunctionSpec, limit: int) -> Exception:
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError("TooManyRequestsException", f"Rate Exceeded. ({spec.name}: {limit} concurrent executions)")
    error.code = THROTTLE_STATUS  # the HTTP status the Invoke API answers with
    return error
