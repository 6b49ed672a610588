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
- an **SQS event source mapping**'s batch (sandbox/queues.py) is refused with 429 too, and its poller
  retries it: "If the invocation fails due to throttling, Lambda gradually backs off retries ... Lambda
  continues to retry the message until the message's timestamp exceeds your queue's visibility timeout, at
  which point Lambda drops the message" (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
  The message is then received again, and SQS counts that receive: throttling that outlasts the visibility
  timeout counts towards maxReceiveCount, which is why AWS asks for a visibility timeout of at least 6x the
  function's timeout and a maxReceiveCount of at least 5.

    cap = ConcurrencyCap(10)
    with Sandbox("cdk.out", invocation_hook=cap) as sandbox:
        ...
        cap.peak, cap.throttled, cap.queued

Whether the sandbox is quiet (no invocation running) is the sandbox clock's (``Clock.quiet()``), which also
skips time in which nothing runs (``Clock.skip_idle_time()``).

The sandbox's EventBridge deliveries run on threads named ``eventbridge*`` (sandbox/events.py): that is how
an invocation is known to be an asynchronous one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sandbox.lambda_runtime import FunctionSpec, Invocation

ASYNC_THREAD_PREFIX = "eventbridge"
THROTTLE_STATUS = 429
THROTTLE_ERROR = "TooManyRequestsException"


class ConcurrencyCap:
    """An invocation hook (``Sandbox(invocation_hook=...)``) that enforces a concurrency limit."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"the concurrency limit must be at least 1, got {limit}")
        self.limit = limit
        self.running = 0
        self.peak = 0
        # Invokes refused with 429: a workflow task's (its Retry backs off and tries again) and a queue batch's
        # (its poller retries it until the messages' visibility timeout passes).
        self.throttled = 0
        self.queued = 0  # asynchronous invokes that waited for a slot
        self._slots = threading.Condition()

    def __call__(self, spec: FunctionSpec, event: Any, proceed: Callable[[], Invocation]) -> Invocation:
        waits = threading.current_thread().name.startswith(ASYNC_THREAD_PREFIX)
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


def throttled(error: BaseException) -> bool:
    """Is this what the cap raises for an invoke over the limit (the Invoke API's 429)?"""
    return getattr(error, "code", None) == THROTTLE_STATUS and getattr(error, "error_type", None) == THROTTLE_ERROR


def _throttle(spec: FunctionSpec, limit: int) -> Exception:
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError(THROTTLE_ERROR, f"Rate Exceeded. ({spec.name}: {limit} concurrent executions)")
    error.code = THROTTLE_STATUS  # the HTTP status the Invoke API answers with
    return error
