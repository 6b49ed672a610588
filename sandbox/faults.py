"""Fault injection for the sandbox: Lambda invocations that fail the way AWS makes them fail.

    injector = FaultInjector()
    with Sandbox("cdk.out", invocation_hook=injector) as sandbox:
        injector.add("ord-7", Fault("reserve_stock", Kind.THROTTLE, times=2))   # a schedule
        injector.add("ord-8", Fault("refund_payment", Kind.CRASH))              # permanent
        ...
        injector.injected   # every failure it caused: order, function, kind, error, attempt

A fault belongs to one order (or to every order, ``ANY_ORDER``) and one function, named by its handler
package (``reserve_stock``, ``subscribers.audit``). ``times=n`` fails the first n invocations of that
function for that order and lets the rest through (transient); ``times=None`` fails every one
(permanent). ``RandomFaults`` draws faults from a seeded ``random.Random``: the same seed, the same plan.

How each kind reaches the caller, and why that is how AWS reports it:

| kind             | the handler   | the caller sees                               | Step Functions error            |
|------------------|---------------|-----------------------------------------------|---------------------------------|
| throttle         | does not run  | Invoke API error 429 TooManyRequestsException | Lambda.TooManyRequestsException |
| service-error    | does not run  | Invoke API error 500 ServiceException         | Lambda.ServiceException         |
| task-timeout     | does not run  | no answer within the task's TimeoutSeconds    | States.Timeout                  |
| lost-reply       | runs, commits | no answer within the task's TimeoutSeconds    | States.Timeout                  |
| function-timeout | runs, commits | function error Sandbox.Timedout (its Timeout) | Sandbox.Timedout                |
| crash            | does not run  | function error RuntimeError (a bug)           | RuntimeError                    |
| crash-after      | runs, commits | function error RuntimeError after its effects | RuntimeError                    |

The Invoke API errors are moto's own ``JsonRESTError`` raised inside the Invoke call, so they travel
as an HTTP error to the caller's boto3 client: Step Functions' interpreter names them ``Lambda.<code>``
exactly as the service does. A task timeout is a ``TimeoutError`` inside the task, which is what the
interpreter's own TimeoutSeconds watchdog raises (``TaskTimedOut`` event, ``States.Timeout``): the
sandbox cannot make a real 30 s wait instant, so it ends the wait at once. "lost-reply" and
"function-timeout" run the handler to completion first: the hard case for idempotency, a side effect
that happened although the caller was told it failed. (A real timeout may also stop a handler midway;
a handler that survives "all of it happened" and "none of it happened" survives the cases between, as
every write of ours is a single conditional request or transaction.)

Functions invoked asynchronously by EventBridge (``subscribers.*``) only take function errors
(crash, crash-after, function-timeout): Lambda's own async retries and dead-letter handling then run
as in AWS (sandbox/events.py). An Invoke API error has no meaning there.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sandbox.lambda_runtime import FunctionSpec, Invocation

ANY_ORDER = "*"
ASYNC_PREFIX = "subscribers."  # functions EventBridge invokes asynchronously (lambdas/subscribers/)
CRASH_ERROR = "RuntimeError"
FUNCTION_TIMEOUT_ERROR = "Sandbox.Timedout"  # what sandbox/lambda_runtime.py reports for a function's Timeout


class Kind(StrEnum):
    THROTTLE = "throttle"
    SERVICE_ERROR = "service-error"
    TASK_TIMEOUT = "task-timeout"
    LOST_REPLY = "lost-reply"
    FUNCTION_TIMEOUT = "function-timeout"
    CRASH = "crash"
    CRASH_AFTER = "crash-after"


@dataclass(frozen=True)
class KindInfo:
    error: str  # the error name the caller (Step Functions) sees
    runs_handler: bool  # the handler runs to completion before the failure is reported
    raises: bool  # reported as an Invoke API error or a timeout (synchronous callers only)


KINDS: dict[Kind, KindInfo] = {
    Kind.THROTTLE: KindInfo("Lambda.TooManyRequestsException", False, True),
    Kind.SERVICE_ERROR: KindInfo("Lambda.ServiceException", False, True),
    Kind.TASK_TIMEOUT: KindInfo("States.Timeout", False, True),
    Kind.LOST_REPLY: KindInfo("States.Timeout", True, True),
    Kind.FUNCTION_TIMEOUT: KindInfo(FUNCTION_TIMEOUT_ERROR, True, False),
    Kind.CRASH: KindInfo(CRASH_ERROR, False, False),
    Kind.CRASH_AFTER: KindInfo(CRASH_ERROR, True, False),
}
# What can go wrong with a function that will work again (the platform, not the code) ...
TRANSIENT_KINDS = (Kind.THROTTLE, Kind.SERVICE_ERROR, Kind.TASK_TIMEOUT, Kind.LOST_REPLY, Kind.FUNCTION_TIMEOUT)
# ... and what an asynchronously invoked function can suffer.
ASYNC_KINDS = (Kind.CRASH, Kind.CRASH_AFTER, Kind.FUNCTION_TIMEOUT)


def function_key(handler: str) -> str:
    """ "lambdas.reserve_stock.handler.handler" -> "reserve_stock"; subscribers keep their package:
    "subscribers.audit"."""
    return handler.removeprefix("lambdas.").removesuffix(".handler.handler")


def order_id_of(event: Any) -> str | None:
    """The order an invocation is about: task payloads carry orderId (or order.orderId), events
    carry it as their correlationId."""
    if not isinstance(event, Mapping):
        return None
    for candidate in (event.get("orderId"), _get(event, "order", "orderId")):
        if isinstance(candidate, str):
            return candidate
    for candidate in (_get(event, "detail", "metadata", "correlationId"), _get(event, "detail", "data", "orderId")):
        if isinstance(candidate, str):
            return candidate
    return None


def _get(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


@dataclass(frozen=True)
class Fault:
    function: str  # function_key of the handler
    kind: Kind
    times: int | None = None  # fail the first `times` invocations; None: every invocation (permanent)

    def __post_init__(self) -> None:
        if self.times is not None and self.times < 1:
            raise ValueError(f"times must be at least 1 (or None for a permanent fault), got {self.times}")
        if self.function.startswith(ASYNC_PREFIX) and self.kind not in ASYNC_KINDS:
            raise ValueError(f"{self.function} is invoked asynchronously: {self.kind} cannot reach it")

    @property
    def permanent(self) -> bool:
        return self.times is None

    @property
    def error(self) -> str:
        return KINDS[self.kind].error

    def __str__(self) -> str:
        return f"{self.kind} in {self.function} " + ("always" if self.permanent else f"x{self.times}")


@dataclass(frozen=True)
class Injected:
    """One invocation the injector made fail."""

    order_id: str
    function: str
    kind: Kind
    error: str
    attempt: int  # 1 = the first invocation of this function for this order


@dataclass(frozen=True)
class Call:
    """One invocation that reached the injector (failed or not)."""

    order_id: str | None
    function: str
    event: Any
    attempt: int
    fault: Fault | None  # the fault applied to it, None when it went through


class Gate:
    """Holds invocations of one function for one order before their handler runs, until released."""

    def __init__(self) -> None:
        self.reached = threading.Event()  # set when an invocation arrives and waits
        self._open = threading.Event()

    def release(self) -> None:
        self._open.set()

    def wait(self, timeout: float) -> None:
        self.reached.set()
        if not self._open.wait(timeout):
            raise TimeoutError("a gated invocation was never released")


class FaultInjector:
    """The sandbox's invocation hook: applies the faults planned for (order, function)."""

    GATE_TIMEOUT_SECONDS = 120.0

    def __init__(self, record_events: Callable[[str], bool] | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: dict[tuple[str, str], Fault] = {}
        self._attempts: Counter[tuple[str | None, str]] = Counter()
        self._gates: dict[tuple[str, str], Gate] = {}
        # Which functions' events to keep in `calls` (default: the asynchronous ones, whose events
        # a test may want to hand over again); every call is counted either way.
        self._record_events = record_events or (lambda function: function.startswith(ASYNC_PREFIX))
        self.injected: list[Injected] = []
        self.calls: list[Call] = []

    # -- the plan -----------------------------------------------------------------------------------
    def add(self, order_id: str, *faults: Fault) -> None:
        with self._lock:
            for fault in faults:
                self._faults[(order_id, fault.function)] = fault

    def remove(self, order_id: str, function: str) -> None:
        with self._lock:
            self._faults.pop((order_id, function), None)

    def planned(self, order_id: str) -> list[Fault]:
        with self._lock:
            return [fault for (order, _), fault in self._faults.items() if order == order_id]

    def hold(self, order_id: str, function: str) -> Gate:
        """Hold the next invocations of `function` for `order_id` until the gate is released."""
        gate = Gate()
        with self._lock:
            self._gates[(order_id, function)] = gate
        return gate

    def injected_for(self, order_id: str) -> list[Injected]:
        with self._lock:
            return [i for i in self.injected if i.order_id == order_id]

    def attempts(self, order_id: str, function: str) -> int:
        with self._lock:
            return self._attempts[(order_id, function)]

    # -- the hook -------------------------------------------------------------------------------------
    def __call__(self, spec: FunctionSpec, event: Any, proceed: Callable[[], Invocation]) -> Invocation:
        function = function_key(spec.handler)
        order_id = order_id_of(event)
        with self._lock:
            gate = self._gates.pop((order_id, function), None) if order_id else None
        if gate is not None:
            gate.wait(self.GATE_TIMEOUT_SECONDS)
        with self._lock:
            self._attempts[(order_id, function)] += 1
            attempt = self._attempts[(order_id, function)]
            fault = self._faults.get((order_id or "", function)) or self._faults.get((ANY_ORDER, function))
            if fault is not None and not fault.permanent and attempt > (fault.times or 0):
                fault = None
            if fault is not None:
                self.injected.append(Injected(order_id or "", function, fault.kind, fault.error, attempt))
            kept = event if self._record_events(function) else None
            self.calls.append(Call(order_id, function, kept, attempt, fault))
        if fault is None:
            return proceed()
        return _fail(fault, spec, order_id, proceed)


def _fail(fault: Fault, spec: FunctionSpec, order_id: str | None, proceed: Callable[[], Invocation]) -> Invocation:
    from moto.core.exceptions import JsonRESTError

    info = KINDS[fault.kind]
    started = time.monotonic()
    ran = proceed() if info.runs_handler else None  # its effects stay; its answer is replaced
    what = f"injected {fault.kind} in {spec.name} (order {order_id})"
    if fault.kind is Kind.THROTTLE:
        raise _api_error(JsonRESTError, 429, "TooManyRequestsException", f"Rate Exceeded. ({what})")
    if fault.kind is Kind.SERVICE_ERROR:
        raise _api_error(JsonRESTError, 500, "ServiceException", f"Service unavailable. ({what})")
    if fault.kind in (Kind.TASK_TIMEOUT, Kind.LOST_REPLY):
        raise TimeoutError(what)
    request_id = ran.request_id if ran is not None else str(uuid.uuid4())
    if fault.kind is Kind.FUNCTION_TIMEOUT:
        message = f"{request_id} Task timed out after {spec.timeout_seconds:.2f} seconds ({what})"
    else:
        message = what
    payload = json.dumps({"errorMessage": message, "errorType": info.error, "requestId": request_id})
    logs = (ran.logs if ran is not None else "") + f"[ERROR] {info.error}: {message}\n"
    return Invocation(payload, True, logs, request_id, (time.monotonic() - started) * 1000)


def _api_error(error_class: Any, status: int, code: str, message: str) -> Exception:
    error = error_class(code, message)
    error.code = status  # the HTTP status the Invoke API answers with
    return error


# ---------------------------------------------------------------------------
# Random plans
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Budget:
    """How a caller retries a function: attempts after the first, for the transient kinds."""

    retries: int
    kinds: Sequence[Kind] = TRANSIENT_KINDS
    retries_everything: bool = False  # a Retry on States.ALL: even a crash is retried


@dataclass
class RandomFaults:
    """Draws a fault plan for one order from a seeded generator.

    ``fault_probability`` per function on the order's path; a fault is permanent with
    ``permanent_probability`` (else transient, failing 1..retries times, so the caller's retries
    absorb it). Asynchronous functions get crash / crash-after / function-timeout.
    """

    rng: random.Random
    fault_probability: float = 0.25
    permanent_probability: float = 0.15
    max_faults_per_order: int = 2
    drawn: Counter[str] = field(default_factory=Counter)

    def plan(self, functions: Mapping[str, Budget], allow_permanent: bool = True) -> list[Fault]:
        """Faults for the functions an order will run ({function: how its caller retries it})."""
        chosen = [name for name in functions if self.rng.random() < self.fault_probability]
        self.rng.shuffle(chosen)
        picked = sorted(chosen[: self.max_faults_per_order])
        faults = [self._fault(name, functions[name], allow_permanent) for name in picked]
        self.drawn.update(str(f.kind) for f in faults)
        return faults

    def _fault(self, function: str, budget: Budget, allow_permanent: bool) -> Fault:
        kinds = ASYNC_KINDS if function.startswith(ASYNC_PREFIX) else budget.kinds
        if allow_permanent and self.rng.random() < self.permanent_probability:
            permanent = [*kinds, Kind.CRASH] if not function.startswith(ASYNC_PREFIX) else kinds
            return Fault(function, self.rng.choice(list(dict.fromkeys(permanent))), None)
        kind = self.rng.choice(list(kinds))
        return Fault(function, kind, self.rng.randint(1, max(1, budget.retries)))


def summary(injected: Iterable[Injected]) -> str:
    """ "12 faults: 5 throttle, 4 lost-reply, ..." for progress lines."""
    counts = Counter(str(i.kind) for i in injected)
    total = sum(counts.values())
    return f"{total} faults" + (": " + ", ".join(f"{n} {k}" for k, n in counts.most_common()) if total else "")
