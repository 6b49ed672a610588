"""Lambda's concurrency limit in the sandbox: at most ``limit`` invocations run at once (an account's
unreserved concurrency), as Lambda enforces it (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html):

- a **synchronous** invoke over the limit (a workflow task) is refused with 429
  ``TooManyRequestsException``: Step Functions sees ``Lambda.TooManyRequestsException`` and retries as
  the state's Retry says. The sandbox skips Retry back-offs (sandbox/clock.py), which in AWS give the
  running invocations time to finish; so a refused invoke first waits up to ``sync_wait_seconds``
  (real time) for a slot, standing in for one back-off, and is refused only if none frees;
- an **asynchronous** one (an EventBridge delivery to a subscriber) waits in Lambda's internal queue and
  runs when a slot frees: Lambda retries throttled events for up to 6 hours, so none is lost here.

    cap = ConcurrencyCap(10)
    with Sandbox("cdk.out", invocation_hook=cap) as sandbox:
        ...
        cap.peak, cap.throttled, cap.queued

The sandbox's EventBridge deliveries run on threads named ``eventbridge*`` (sandbox/events.py): that is
how an invocation is known to be asynchronous.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sandbox.lambda_runtime import FunctionSpec, Invocation

ASYNC_THREAD_PREFIX = "eventbridge"
THROTTLE_STATUS = 429


class ConcurrencyCap:
    """An invocation hook (``Sandbox(invocation_hook=...)``) that enforces a concurrency limit."""

    def __init__(self, limit: int, sync_wait_seconds: float = 1.0) -> None:
        if limit < 1:
            raise ValueError(f"the concurrency limit must be at least 1, got {limit}")
        self.limit = limit
        self.sync_wait_seconds = sync_wait_seconds
        self.running = 0
        self.peak = 0
        self.throttled = 0  # synchronous invokes that found no slot (refused with 429 if none freed in time)
        self.queued = 0  # asynchronous invokes that waited for a slot
        self._slots = threading.Condition()

    def __call__(self, spec: FunctionSpec, event: Any, proceed: Callable[[], Invocation]) -> Invocation:
        asynchronous = threading.current_thread().name.startswith(ASYNC_THREAD_PREFIX)
        with self._slots:
            if self.running >= self.limit:
                free = lambda: self.running < self.limit  # noqa: E731
                if not asynchronous:
                    self.throttled += 1
                    if not self._slots.wait_for(free, self.sync_wait_seconds):
                        raise _throttle(spec, self.limit)
                else:
                    self.queued += 1
                    self._slots.wait_for(free)
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            return proceed()
        finally:
            with self._slots:
                self.running -= 1
                self._slots.notify()


def _throttle(spec: FunctionSpec, limit: int) -> Exception:
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError("TooManyRequestsException", f"Rate Exceeded. ({spec.name}: {limit} concurrent executions)")
    error.code = THROTTLE_STATUS  # the HTTP status the Invoke API answers with
    return error
