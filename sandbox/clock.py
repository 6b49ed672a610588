"""The sandbox's clock: sleeps are instant but recorded, long timeouts run on a virtual clock.

Step Functions in AWS really waits: a Wait state, a Retry back-off, EventBridge's retry of a failed
delivery, a 72-hour payment review timeout. The sandbox skips the first three (instantly, with a
record of what AWS would have slept, so tests and the demo can show it) and puts task timeouts on a
virtual clock: ``now()`` is real time plus every ``advance()`` so far. Advancing by 72 hours is how the
demo and the tests let a payment review time out without waiting for it.

Skipping a back-off is right while nothing limits capacity: the retry then meets the same world as an
instant later. Under a limit it is not: a throttled invoke (Lambda's concurrency used up) clears because
the back-off lets running invocations finish, and an instant retry finds every slot still taken. With
``paced_back_offs`` set (``make burst`` sets it with its concurrency cap) a Retry back-off waits on the
virtual clock until it has passed, as in AWS; the back-off's execution holds no slot meanwhile, so the
others run. Invocations take their real time, and a driver that sees none running may let the clock pass
to the earliest pending back-off (``skip_idle_time()``): skipping time in which nothing runs cannot free a
slot AWS would not have freed, so throttling clears no sooner than it would in AWS.

**Quiet**: the sandbox runs every Lambda invocation inside ``running()``; ``quiet()`` is True when none
runs and none started or ended within ``QUIET_SECONDS`` (between two tasks of a workflow nothing runs for
a moment). It is the one signal for skipping time: ``skip_while_quiet()`` moves the clock only then, for
a pending back-off (``skip_idle_time``) and for a failed queue message's visibility timeout
(sandbox/queues.py). While anything runs, time runs real: jumping it then would hand a throttled caller
the time that the running invocations need to finish.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

IDLE_SKIP = "idle-skip"  # the kind of the record of a skip to a pending back-off (Clock.sleeps())


@dataclass(frozen=True)
class Sleep:
    """One sleep that AWS would have done and the sandbox skipped."""

    kind: str  # "retry" (Step Functions Retry), "wait" (Wait state), "delivery-retry" (EventBridge / Lambda async)
    seconds: float
    execution_arn: str | None  # the execution, or None outside Step Functions
    state: str | None  # the state (or rule/target for deliveries)


class Clock:
    # Real seconds between checks of a virtual deadline: short enough for a snappy demo, long enough
    # that a handful of waiting reviews costs nothing.
    POLL_SECONDS = 0.02
    # Between two tasks of a workflow nothing runs for a moment: quiet means no invocation for this long.
    QUIET_SECONDS = 0.2

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()
        self._sleeps: list[Sleep] = []
        self.paced_back_offs = False  # Retry back-offs wait on this clock (else: recorded, skipped)
        self._wakes: list[float] = []  # virtual deadlines of back-offs waiting now
        self._invocations = threading.Condition(self._lock)  # Lambda invocations in progress (running())
        self._in_flight = 0
        self._last_invocation = 0.0  # time.monotonic() when one last started or ended

    @contextmanager
    def running(self) -> Iterator[None]:
        """One Lambda invocation in progress: the sandbox is not quiet meanwhile (see the module's docstring)."""
        with self._invocations:
            self._in_flight += 1
            self._last_invocation = time.monotonic()
        try:
            yield
        finally:
            with self._invocations:
                self._in_flight -= 1
                self._last_invocation = time.monotonic()
                self._invocations.notify_all()

    def quiet(self) -> bool:
        """No invocation running, none started or ended in the last QUIET_SECONDS."""
        with self._lock:
            return self._quiet()

    def _quiet(self) -> bool:
        return self._in_flight == 0 and time.monotonic() - self._last_invocation > self.QUIET_SECONDS

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no invocation runs (at most `timeout` real seconds); True when none does."""
        with self._invocations:
            return self._invocations.wait_for(lambda: self._in_flight == 0, timeout=timeout)

    def skip_while_quiet(self, until: float | None, kind: str, state: str | None = None) -> float:
        """When quiet, let the clock pass to virtual time `until` at once (recorded as `kind`): the seconds
        skipped, 0 while anything runs or when `until` is None or not ahead."""
        with self._lock:
            seconds = 0.0 if until is None or not self._quiet() else until - (time.time() + self._offset)
            if seconds <= 0:
                return 0.0
            self._offset += seconds
            self._sleeps.append(Sleep(kind, seconds, None, state))
        return seconds

    def skip_idle_time(self) -> float:
        """When quiet, move to the earliest pending Retry back-off: nothing would have finished meanwhile, so no
        slot frees sooner than in AWS. The seconds skipped."""
        return self.skip_while_quiet(self.next_wake(), IDLE_SKIP, "lambda")

    def now(self) -> float:
        """Virtual seconds since the epoch: real time plus every advance."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass at once for every virtual deadline (e.g. a review timeout)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds

    def record(self, kind: str, seconds: float, execution_arn: str | None = None, state: str | None = None) -> None:
        with self._lock:
            self._sleeps.append(Sleep(kind, float(seconds), execution_arn, state))

    def back_off(self, kind: str, seconds: float, execution_arn: str | None = None, state: str | None = None) -> None:
        """A retry's back-off: recorded; with ``paced_back_offs``, also waited for on the virtual clock."""
        self.record(kind, seconds, execution_arn, state)
        if not self.paced_back_offs or seconds <= 0:
            return
        wake = self.now() + seconds
        with self._lock:
            self._wakes.append(wake)
        try:
            while self.paced_back_offs and self.now() < wake:  # turned off: every waiting back-off ends
                time.sleep(min(wake - self.now(), self.POLL_SECONDS))
        finally:
            with self._lock:
                self._wakes.remove(wake)

    def next_wake(self) -> float | None:
        """The virtual time the earliest pending back-off ends, or None when none waits."""
        with self._lock:
            return min(self._wakes, default=None)

    def sleeps(self, execution_arn: str | None = None) -> list[Sleep]:
        """What was skipped, optionally for one execution."""
        with self._lock:
            return [s for s in self._sleeps if execution_arn is None or s.execution_arn == execution_arn]

    def wait(self, event: threading.Event, timeout: float | None, done: Callable[[], bool] | None = None) -> bool:
        """Wait for `event` until the virtual clock passes `timeout`; True when the event came first.

        `done` lets a caller stop waiting early for another reason (e.g. the execution was stopped).
        """
        if timeout is None:
            event.wait()
            return True
        deadline = self.now() + timeout
        while not event.is_set():
            if done is not None and done():
                return False
            remaining = deadline - self.now()
            if remaining <= 0:
                return False
            event.wait(min(remaining, self.POLL_SECONDS))
        return True
