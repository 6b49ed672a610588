"""Fault injection for the sandbox: every failure AWS can hand the order workflow, on purpose.

    injector = FaultInjector()
    with Sandbox("cdk.out", invocation_hook=injector, integration_hook=injector.integration) as sandbox:
        sandbox.targets.delivery_hook = injector.delivery       # EventBridge -> Lambda delivery
        injector.add("ord-7", Fault("reserve_stock", Kind.THROTTLE, times=2))           # a schedule
        injector.add("ord-8", Fault("refund_payment", Kind.CRASH))                      # permanent
        injector.add("ord-9", Fault("NotifyWarehouse", Kind.INTEGRATION_LOST_REPLY, times=1))
        injector.add("ord-9", Fault("subscribers.audit", Kind.DELIVERY_THROTTLED, times=3))
        ...
        injector.injected   # every failure it caused: order, step, kind, error, attempt

A fault belongs to one order (or to every order, ``ANY_ORDER``) and one step: a Lambda function named
by its handler package (``reserve_stock``, ``subscribers.audit``) or a service integration named by
its state (``NotifyWarehouse``, ``CancelShipment``, ``PublishOrderCompleted``,
``PublishOrderFailed``). ``times=n`` fails the first n attempts of that step for that order and lets
the rest through (transient); ``times=None`` fails every one (permanent). ``RandomFaults`` draws plans
from a seeded ``random.Random``: the same seed, the same plan.

Three places fail, as in AWS:

1. **Lambda invocations** (the sandbox's ``invocation_hook``, ``FaultInjector.__call__``):

| kind             | the handler   | the caller sees                               | Step Functions error            |
|------------------|---------------|-----------------------------------------------|---------------------------------|
| throttle         | does not run  | Invoke API error 429 TooManyRequestsException | Lambda.TooManyRequestsException |
| service-error    | does not run  | Invoke API error 500 ServiceException         | Lambda.ServiceException         |
| task-timeout     | does not run  | no answer within the task's TimeoutSeconds    | States.Timeout                  |
| lost-reply       | runs, commits | no answer within the task's TimeoutSeconds    | States.Timeout                  |
| function-timeout | runs, commits | function error Sandbox.Timedout (its Timeout) | Sandbox.Timedout                |
| crash            | does not run  | function error RuntimeError (a bug)           | RuntimeError                    |
| crash-after      | runs, commits | function error RuntimeError after its effects | RuntimeError                    |

   Functions EventBridge invokes asynchronously (``subscribers.*``) take the function errors only
   (crash, crash-after, function-timeout): Lambda's async retries and its on-failure destination then
   run as in AWS (sandbox/events.py).

2. **Service integrations** of the workflow (the sandbox's ``integration_hook``,
   ``FaultInjector.integration``): ``sqs:sendMessage`` (NotifyWarehouse, CancelShipment) and
   ``events:putEvents`` (PublishOrderCompleted, PublishOrderFailed). The error is the service's API
   error (a botocore ``ClientError`` with its code and HTTP status, as the service answers), which Step
   Functions names ``SQS.<code>`` / ``EventBridge.<code>``:

| kind                    | the call     | SQS (sendMessage)     | EventBridge (putEvents)                    |
|-------------------------|--------------|-----------------------|--------------------------------------------|
| integration-throttled   | not made     | 400 RequestThrottled  | 400 ThrottlingException                    |
| integration-error       | not made     | 500 InternalError     | 500 InternalException                      |
| integration-lost-reply  | **made**     | no answer within TimeoutSeconds: States.Timeout                    |
| integration-error-after | **made**     | 500 InternalError     | 500 InternalException                      |
| failed-entry            | not accepted | (not for SQS)         | FailedEntryCount 1: EventBridge.FailedEntry |
| resource-missing        | refused      | 400 QueueDoesNotExist | 400 ResourceNotFoundException              |
| access-denied           | refused      | 403 AccessDenied      | 400 AccessDeniedException                  |

   The last two are permanent by nature (a deleted queue or bus, a missing grant): only ``times=None``.

3. **EventBridge's delivery to a Lambda target** (``LambdaTargets.delivery_hook`` in sandbox/events.py,
   ``FaultInjector.delivery``): the asynchronous Invoke that EventBridge makes is refused before the
   function runs. Retriable errors are retried under the target's RetryPolicy and then go to the
   target's dead-letter queue; a refusal (no permission, no function) is not retried: straight to it.

| kind               | EventBridge's ERROR_CODE | retried by EventBridge |
|--------------------|--------------------------|------------------------|
| delivery-throttled | THROTTLING               | yes                    |
| delivery-error     | INTERNAL_ERROR           | yes                    |
| delivery-refused   | NO_PERMISSIONS           | no                     |

The Invoke API errors are moto's own ``JsonRESTError`` raised inside the Invoke call, so they travel
as an HTTP error to the caller's boto3 client: Step Functions' interpreter names them ``Lambda.<code>``
exactly as the service does. A task timeout is a ``TimeoutError`` inside the task, which is what the
interpreter's own TimeoutSeconds watchdog raises (``TaskTimedOut`` event, ``States.Timeout``): the
sandbox cannot make a real 30 s wait instant, so it ends the wait at once. The kinds that run the
handler (or make the call) first are the hard case for idempotency: a side effect that happened
although the caller was told it failed. (A real timeout may also stop a handler midway; a handler that
survives "all of it happened" and "none of it happened" survives the cases between, as every write of
ours is a single conditional request or transaction.)
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

from infra import defaults
from lambdas.shared import constants
from sandbox.lambda_runtime import FunctionSpec, Invocation

ANY_ORDER = "*"
ASYNC_PREFIX = "subscribers."  # functions EventBridge invokes asynchronously (lambdas/subscribers/)
CRASH_ERROR = "RuntimeError"
FUNCTION_TIMEOUT_ERROR = "Sandbox.Timedout"  # what sandbox/lambda_runtime.py reports for a function's Timeout
TIMEOUT_ERROR = "States.Timeout"
FAILED_ENTRY_ERROR = "EventBridge.FailedEntry"  # Step Functions' optimized putEvents, FailedEntryCount > 0


class Kind(StrEnum):
    # Lambda invocations
    THROTTLE = "throttle"
    SERVICE_ERROR = "service-error"
    TASK_TIMEOUT = "task-timeout"
    LOST_REPLY = "lost-reply"
    FUNCTION_TIMEOUT = "function-timeout"
    CRASH = "crash"
    CRASH_AFTER = "crash-after"
    # service integrations (sqs:sendMessage, events:putEvents)
    INTEGRATION_THROTTLED = "integration-throttled"
    INTEGRATION_ERROR = "integration-error"
    INTEGRATION_LOST_REPLY = "integration-lost-reply"
    INTEGRATION_ERROR_AFTER = "integration-error-after"
    FAILED_ENTRY = "failed-entry"
    RESOURCE_MISSING = "resource-missing"
    ACCESS_DENIED = "access-denied"
    # EventBridge -> Lambda target delivery
    DELIVERY_THROTTLED = "delivery-throttled"
    DELIVERY_ERROR = "delivery-error"
    DELIVERY_REFUSED = "delivery-refused"


@dataclass(frozen=True)
class KindInfo:
    error: str  # the error name the caller (Step Functions) sees
    runs_handler: bool  # the handler runs to completion before the failure is reported
    raises: bool  # reported as an Invoke API error or a timeout (synchronous callers only)


KINDS: dict[Kind, KindInfo] = {
    Kind.THROTTLE: KindInfo("Lambda.TooManyRequestsException", False, True),
    Kind.SERVICE_ERROR: KindInfo("Lambda.ServiceException", False, True),
    Kind.TASK_TIMEOUT: KindInfo(TIMEOUT_ERROR, False, True),
    Kind.LOST_REPLY: KindInfo(TIMEOUT_ERROR, True, True),
    Kind.FUNCTION_TIMEOUT: KindInfo(FUNCTION_TIMEOUT_ERROR, True, False),
    Kind.CRASH: KindInfo(CRASH_ERROR, False, False),
    Kind.CRASH_AFTER: KindInfo(CRASH_ERROR, True, False),
}
LAMBDA_KINDS = tuple(KINDS)
# What can go wrong with a function that will work again (the platform, not the code) ...
TRANSIENT_KINDS = (Kind.THROTTLE, Kind.SERVICE_ERROR, Kind.TASK_TIMEOUT, Kind.LOST_REPLY, Kind.FUNCTION_TIMEOUT)
# ... and what an asynchronously invoked function can suffer.
ASYNC_KINDS = (Kind.CRASH, Kind.CRASH_AFTER, Kind.FUNCTION_TIMEOUT)
# Faults after which the function's effects exist although its caller was told it failed.
COMMITTED_KINDS = frozenset(k for k, info in KINDS.items() if info.runs_handler)


# -- service integrations ------------------------------------------------------------------------------
SQS, EVENTS = "sqs", "events"
ERROR_PREFIX = {SQS: "SQS", EVENTS: "EventBridge"}  # how Step Functions names a service's API errors
INTEGRATION_ACTIONS = {SQS: "sendMessage", EVENTS: "putEvents"}


@dataclass(frozen=True)
class IntegrationStep:
    """A Task state of the workflow that calls a service directly, recognised by what it sends."""

    state: str  # the ASL state, which is also the step's fault key
    service: str
    action: str
    what: str  # the message type (sqs) or event detail-type (events) it sends


INTEGRATION_STEPS: dict[str, IntegrationStep] = {
    step.state: step
    for step in (
        IntegrationStep("NotifyWarehouse", SQS, "sendMessage", "ShipOrder"),
        IntegrationStep("CancelShipment", SQS, "sendMessage", "CancelShipment"),
        IntegrationStep("PublishOrderCompleted", EVENTS, "putEvents", constants.EVENT_ORDER_COMPLETED),
        IntegrationStep("PublishOrderFailed", EVENTS, "putEvents", constants.EVENT_ORDER_FAILED),
    )
}


@dataclass(frozen=True)
class ApiError:
    status: int
    code: str  # the service's error code (per service)


@dataclass(frozen=True)
class IntegrationKindInfo:
    calls: bool  # the call is made (its effect exists) before the failure is reported
    errors: Mapping[str, ApiError | None]  # service -> the API error; None: a timeout or a failed entry
    permanent_only: bool = False  # a deleted resource or a missing grant does not heal by itself


INTEGRATION_KINDS: dict[Kind, IntegrationKindInfo] = {
    Kind.INTEGRATION_THROTTLED: IntegrationKindInfo(
        False, {SQS: ApiError(400, "RequestThrottled"), EVENTS: ApiError(400, "ThrottlingException")}
    ),
    Kind.INTEGRATION_ERROR: IntegrationKindInfo(
        False, {SQS: ApiError(500, "InternalError"), EVENTS: ApiError(500, "InternalException")}
    ),
    Kind.INTEGRATION_LOST_REPLY: IntegrationKindInfo(True, {SQS: None, EVENTS: None}),
    Kind.INTEGRATION_ERROR_AFTER: IntegrationKindInfo(
        True, {SQS: ApiError(500, "InternalError"), EVENTS: ApiError(500, "InternalException")}
    ),
    Kind.FAILED_ENTRY: IntegrationKindInfo(False, {EVENTS: None}),
    Kind.RESOURCE_MISSING: IntegrationKindInfo(
        False,
        {SQS: ApiError(400, "QueueDoesNotExist"), EVENTS: ApiError(400, "ResourceNotFoundException")},
        permanent_only=True,
    ),
    Kind.ACCESS_DENIED: IntegrationKindInfo(
        False, {SQS: ApiError(403, "AccessDenied"), EVENTS: ApiError(400, "AccessDeniedException")}, permanent_only=True
    ),
}
# What heals by itself (a retry may succeed): the integration counterpart of TRANSIENT_KINDS.
INTEGRATION_TRANSIENT_KINDS = tuple(k for k, info in INTEGRATION_KINDS.items() if not info.permanent_only)


def integration_error(kind: Kind, service: str) -> str:
    """The error Step Functions reports for an integration fault of `kind` on `service`."""
    info = INTEGRATION_KINDS[kind]
    if service not in info.errors:
        raise ValueError(f"{kind} cannot happen to {service}")
    api = info.errors[service]
    if api is None:
        return TIMEOUT_ERROR if kind is Kind.INTEGRATION_LOST_REPLY else FAILED_ENTRY_ERROR
    from sandbox import moto_fixes

    named = getattr(moto_fixes, "integration_error", None)  # how the sandbox names it, as AWS does
    reported = named(service, _client_error(api, INTEGRATION_ACTIONS[service], "")) if named else None
    return reported[0] if reported else f"{ERROR_PREFIX[service]}.{api.code}"


def integration_kinds_for(step: str) -> tuple[Kind, ...]:
    service = INTEGRATION_STEPS[step].service
    return tuple(k for k, info in INTEGRATION_KINDS.items() if service in info.errors)


# -- EventBridge's delivery to Lambda targets ----------------------------------------------------------
@dataclass(frozen=True)
class DeliveryKindInfo:
    code: str  # EventBridge's ERROR_CODE (the target DLQ message's attribute)
    message: str
    retriable: bool  # 429 and 5xx are retried under the RetryPolicy; other refusals are not


DELIVERY_KINDS: dict[Kind, DeliveryKindInfo] = {
    Kind.DELIVERY_THROTTLED: DeliveryKindInfo("THROTTLING", "Lambda.TooManyRequestsException: Rate Exceeded.", True),
    Kind.DELIVERY_ERROR: DeliveryKindInfo("INTERNAL_ERROR", "Lambda.ServiceException: Service unavailable.", True),
    Kind.DELIVERY_REFUSED: DeliveryKindInfo(
        "NO_PERMISSIONS", "events.amazonaws.com is not authorized to perform lambda:InvokeFunction", False
    ),
}
SUBSCRIBER_KINDS = (*ASYNC_KINDS, *DELIVERY_KINDS)


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


def integration_call(service: str, action: str, parameters: Any) -> tuple[str | None, str | None]:
    """(step key, order id) of a service integration call, from what it sends; (None, None) for a call
    that is not one of the workflow's steps."""
    service = service.lower().removeprefix("amazon")
    action = action.replace("_", "").lower()
    if not isinstance(parameters, Mapping):
        return None, None
    if service == SQS and action == "sendmessage":
        body = _json(parameters.get("MessageBody"))
        what = body.get("type") if isinstance(body, Mapping) else None
        order = body.get("orderId") if isinstance(body, Mapping) else parameters.get("MessageGroupId")
    elif service in (EVENTS, "eventbridge") and action == "putevents":
        service = EVENTS
        entries = parameters.get("Entries") or [{}]
        entry = entries[0] if isinstance(entries[0], Mapping) else {}
        what = entry.get("DetailType")
        order = _get(_json(entry.get("Detail")), "metadata", "correlationId")
    else:
        return None, None
    for step in INTEGRATION_STEPS.values():
        if (step.service, step.what) == (service, what):
            return step.state, order if isinstance(order, str) else None
    return None, None


def _json(value: Any) -> Any:
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _get(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


@dataclass(frozen=True)
class Fault:
    function: str  # the step: function_key of a handler, or an INTEGRATION_STEPS key
    kind: Kind
    times: int | None = None  # fail the first `times` attempts; None: every attempt (permanent)

    def __post_init__(self) -> None:
        if self.times is not None and self.times < 1:
            raise ValueError(f"times must be at least 1 (or None for a permanent fault), got {self.times}")
        if self.function in INTEGRATION_STEPS:
            if self.kind not in integration_kinds_for(self.function):
                raise ValueError(f"{self.function} is a service integration: {self.kind} cannot reach it")
            if INTEGRATION_KINDS[self.kind].permanent_only and self.times is not None:
                raise ValueError(f"{self.kind} does not heal by itself: it is permanent (times=None)")
        elif self.function.startswith(ASYNC_PREFIX):
            if self.kind not in SUBSCRIBER_KINDS:
                raise ValueError(f"{self.function} is invoked asynchronously: {self.kind} cannot reach it")
        elif self.kind not in KINDS:
            raise ValueError(f"{self.function} is a Lambda task: {self.kind} cannot reach it")

    @property
    def permanent(self) -> bool:
        return self.times is None

    @property
    def integration(self) -> bool:
        return self.function in INTEGRATION_STEPS

    @property
    def delivery(self) -> bool:
        return self.kind in DELIVERY_KINDS

    @property
    def committed(self) -> bool:
        """The step's effect happened although its caller was told it failed."""
        if self.integration:
            return INTEGRATION_KINDS[self.kind].calls
        return self.kind in COMMITTED_KINDS

    @property
    def error(self) -> str:
        if self.integration:
            return integration_error(self.kind, INTEGRATION_STEPS[self.function].service)
        if self.delivery:
            return DELIVERY_KINDS[self.kind].code
        return KINDS[self.kind].error

    def __str__(self) -> str:
        return f"{self.kind} in {self.function} " + ("always" if self.permanent else f"x{self.times}")


@dataclass(frozen=True)
class Injected:
    """One attempt the injector made fail."""

    order_id: str
    function: str
    kind: Kind
    error: str
    attempt: int  # 1 = the first attempt of this step for this order


@dataclass(frozen=True)
class Call:
    """One attempt that reached the injector (failed or not)."""

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
    """The sandbox's invocation hook (and integration and delivery hooks): applies the faults planned
    for (order, step)."""

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
        """Plan faults for an order; a step has at most one fault per order. An EventBridge delivery
        fault and a function fault of the same subscriber are two steps (delivery, then the run)."""
        with self._lock:
            for fault in faults:
                self._faults[(order_id, _slot(fault.function, fault.kind))] = fault

    def remove(self, order_id: str, function: str) -> None:
        """Remove every fault planned for `function` (its delivery and its runs) for `order_id`."""
        with self._lock:
            self._faults.pop((order_id, function), None)
            self._faults.pop((order_id, _delivery_slot(function)), None)

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

    def _next(self, order_id: str | None, slot: str, function: str, event: Any) -> Fault | None:
        """Count the attempt and pick the fault that applies to it (under the lock)."""
        self._attempts[(order_id, slot)] += 1
        attempt = self._attempts[(order_id, slot)]
        fault = self._faults.get((order_id or "", slot)) or self._faults.get((ANY_ORDER, slot))
        if fault is not None and not fault.permanent and attempt > (fault.times or 0):
            fault = None
        if fault is not None:
            self.injected.append(Injected(order_id or "", function, fault.kind, fault.error, attempt))
        kept = event if self._record_events(slot) else None
        self.calls.append(Call(order_id, slot, kept, attempt, fault))
        return fault

    # -- the Lambda invocation hook ----------------------------------------------------------------------
    def __call__(self, spec: FunctionSpec, event: Any, proceed: Callable[[], Invocation]) -> Invocation:
        function = function_key(spec.handler)
        with self._lock:
            order_id = self._batch_order(function, event)
            gate = self._gates.pop((order_id, function), None) if order_id else None
        if gate is not None:
            gate.wait(self.GATE_TIMEOUT_SECONDS)
        with self._lock:
            fault = self._next(order_id, function, function, event)
        if fault is None:
            return proceed()
        return _fail(fault, spec, order_id, proceed)

    def _batch_order(self, function: str, event: Any) -> str | None:
        """The order whose faults apply to this invocation; for a batch from a subscriber's queue (sandbox/queues.py),
        the first of its orders with a fault or a gate planned for `function`, else its first order."""
        orders = _faulted_orders(function, event)
        planned = [o for o in orders if (o, function) in self._faults or (o, function) in self._gates]
        chosen = planned or orders
        return chosen[0] if chosen else None

    # -- the service integration hook ----------------------------------------------------------------------
    def integration(self, service: str, action: str, parameters: Any, proceed: Callable[[], Any]) -> Any:
        """Step Functions calls `service`:`action` with `parameters`; `proceed()` makes the call."""
        step, order_id = integration_call(service, action, parameters)
        if step is None:
            return proceed()
        with self._lock:
            fault = self._next(order_id, step, step, None)
        if fault is None:
            return proceed()
        info = INTEGRATION_KINDS[fault.kind]
        if info.calls:
            proceed()  # the message is sent / the event is on the bus; its answer is lost
        what = f"injected {fault.kind} in {INTEGRATION_STEPS[step].state} (order {order_id})"
        if fault.kind is Kind.INTEGRATION_LOST_REPLY:
            raise TimeoutError(what)
        if fault.kind is Kind.FAILED_ENTRY:
            from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_events import (  # noqa: E501
                SfnFailedEntryCountException,
            )

            entry = {"ErrorCode": "InternalFailure", "ErrorMessage": f"Internal failure. ({what})"}
            raise SfnFailedEntryCountException({"Entries": [entry], "FailedEntryCount": 1})
        api = info.errors[INTEGRATION_STEPS[step].service]
        assert api is not None
        raise _client_error(api, action, what)

    # -- the EventBridge delivery hook -------------------------------------------------------------------
    def delivery(self, function_arn: str, handler: str, event: Any) -> tuple[str, str, bool] | None:
        """EventBridge is about to invoke a Lambda target: None lets it through, else (ERROR_CODE,
        message, retriable) for this attempt."""
        function = function_key(handler)
        order_id = _faulted_order(function, event)
        with self._lock:
            fault = self._next(order_id, _delivery_slot(function), function, None)
        if fault is None:
            return None
        info = DELIVERY_KINDS[fault.kind]
        return info.code, f"{info.message} ({fault.kind} for {function_arn}, order {order_id})", info.retriable


# The workflow's own events: a subscriber's fault for an order applies to these (not, say, to a
# ReorderSuggested event that carries the same correlation id), so its retries count one event's attempts.
WORKFLOW_EVENTS = frozenset({constants.EVENT_ORDER_COMPLETED, constants.EVENT_ORDER_FAILED})


def _faulted_orders(function: str, event: Any) -> list[str]:
    """The orders of an invocation: one, or those of an SQS batch's events (a buffered subscriber)."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    if function.startswith(ASYNC_PREFIX) and isinstance(records, list):
        found = [_faulted_order(function, _json(r.get("body")) if isinstance(r, Mapping) else None) for r in records]
        return [order for order in found if order]
    order = _faulted_order(function, event)
    return [order] if order else []


def _faulted_order(function: str, event: Any) -> str | None:
    """The order whose planned faults apply to this invocation."""
    async_event = function.startswith(ASYNC_PREFIX) and isinstance(event, Mapping)
    if async_event and event.get("detail-type") not in WORKFLOW_EVENTS:
        return None
    return order_id_of(event)


def _delivery_slot(function: str) -> str:
    return f"delivery:{function}"


def _slot(function: str, kind: Kind) -> str:
    return _delivery_slot(function) if kind in DELIVERY_KINDS else function


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


def _client_error(api: ApiError, action: str, message: str) -> Exception:
    from botocore.exceptions import ClientError

    response: Any = {
        "Error": {"Code": api.code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": api.status},
    }
    return ClientError(response, action[:1].upper() + action[1:])


# ---------------------------------------------------------------------------
# Random plans
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Budget:
    """How a step is retried: attempts after the first, for the kinds its retrier covers."""

    retries: int
    kinds: Sequence[Kind] = TRANSIENT_KINDS
    retries_everything: bool = False  # a Retry on States.ALL: even a crash is retried
    # A subscriber EventBridge invokes (its delivery can fail too); False for one fed by its queue
    # (sandbox/queues.py: EventBridge delivers to the queue, the function's retries are the queue's receives).
    delivered_by_eventbridge: bool = True
    # Lambda throttling's own Retry (a longer budget: it clears as running invocations finish); None: `retries`.
    throttle_retries: int | None = None


@dataclass
class RandomFaults:
    """Draws a fault plan for one order from a seeded generator.

    Each step on the order's path gets a fault with ``fault_probability`` (at most
    ``max_faults_per_order`` per plan). A fault is permanent with ``permanent_probability``;
    else it outlasts the step's retry budget on purpose with ``beyond_budget_probability``
    (``times`` = retries + 1 or + 2); else it fails 1..retries times, which the retries absorb.
    Lambda tasks draw from their budget's kinds plus crash and crash-after (a bug, before or after
    the handler's writes); service integrations from the service's error kinds; subscribers from the
    function errors and EventBridge's delivery errors.
    """

    rng: random.Random
    fault_probability: float = 0.25
    permanent_probability: float = 0.15
    beyond_budget_probability: float = 0.15
    max_faults_per_order: int = 2
    task_crashes: bool = True  # Lambda tasks may also crash (a bug), before or after their writes
    drawn: Counter[str] = field(default_factory=Counter)

    def plan(self, functions: Mapping[str, Budget], allow_permanent: bool = True) -> list[Fault]:
        """Faults for the steps an order will run ({step: how it is retried})."""
        chosen = [name for name in functions if self.rng.random() < self.fault_probability]
        self.rng.shuffle(chosen)
        picked = sorted(chosen[: self.max_faults_per_order])
        faults = [self._fault(name, functions[name], allow_permanent) for name in picked]
        self.drawn.update(str(f.kind) for f in faults)
        return faults

    def _fault(self, function: str, budget: Budget, allow_permanent: bool) -> Fault:
        kinds = self.kinds_for(function, budget)
        roll = self.rng.random()
        if allow_permanent and roll < self.permanent_probability:
            permanent = list(kinds)
            if function in INTEGRATION_STEPS:
                permanent = list(integration_kinds_for(function))  # a deleted queue, a missing grant too
            return Fault(function, self.rng.choice(permanent), None)
        transient = [k for k in kinds if not (function in INTEGRATION_STEPS and INTEGRATION_KINDS[k].permanent_only)]
        if not allow_permanent:  # nothing may outlast a subscriber's retries: no refusal EventBridge never retries
            transient = [k for k in transient if k not in DELIVERY_KINDS or DELIVERY_KINDS[k].retriable]
        kind = self.rng.choice(transient)
        retries = self._retries(function, budget, kind)
        if allow_permanent and roll < self.permanent_probability + self.beyond_budget_probability:
            return Fault(function, kind, retries + self.rng.randint(1, 2))
        return Fault(function, kind, self.rng.randint(1, max(1, retries)))

    def lasting(self, function: str, budget: Budget) -> Fault:
        """A fault drawn to outlast the step's retries: permanent, or transient beyond its budget."""
        kinds = self.kinds_for(function, budget)
        transient = [k for k in kinds if not (function in INTEGRATION_STEPS and INTEGRATION_KINDS[k].permanent_only)]
        kind = self.rng.choice(transient)
        retries = self._retries(function, budget, kind)
        fault = Fault(function, kind, None if self.rng.random() < 0.5 or not retries else retries + 1)
        self.drawn[str(fault.kind)] += 1
        return fault

    def kinds_for(self, function: str, budget: Budget) -> tuple[Kind, ...]:
        if function in INTEGRATION_STEPS:
            allowed = integration_kinds_for(function)
            return tuple(k for k in allowed if k in budget.kinds) or allowed
        if function.startswith(ASYNC_PREFIX):
            return SUBSCRIBER_KINDS if budget.delivered_by_eventbridge else ASYNC_KINDS
        crashes = [Kind.CRASH, Kind.CRASH_AFTER] if self.task_crashes else []
        return tuple(dict.fromkeys([*budget.kinds, *crashes]))

    @staticmethod
    def _retries(function: str, budget: Budget, kind: Kind) -> int:
        """How many failures of `kind` the step absorbs."""
        if kind in DELIVERY_KINDS:
            return defaults.SUBSCRIBER_RETRY_ATTEMPTS if DELIVERY_KINDS[kind].retriable else 0
        if kind in (Kind.CRASH, Kind.CRASH_AFTER) and not budget.retries_everything:
            return 0
        if kind is Kind.THROTTLE and budget.throttle_retries is not None:
            return budget.throttle_retries
        return budget.retries


def absorbed_by(fault: Fault, budget: Budget) -> int:
    """How many failures of this fault's kind the step's retries absorb (0: the first one is fatal)."""
    return RandomFaults._retries(fault.function, budget, fault.kind)


def outlasts(fault: Fault, budget: Budget) -> bool:
    """Does the fault outlast the step's retries (a permanent one always does)?"""
    return fault.permanent or (fault.times or 0) > absorbed_by(fault, budget)


def beyond_budget(fault: Fault, budget: Budget) -> bool:
    """A transient fault of a kind the step retries, lasting longer than its retries."""
    return not fault.permanent and 0 < absorbed_by(fault, budget) < (fault.times or 0)


def summary(injected: Iterable[Injected]) -> str:
    """ "12 faults: 5 throttle, 4 lost-reply, ..." for progress lines."""
    counts = Counter(str(i.kind) for i in injected)
    total = sum(counts.values())
    return f"{total} faults" + (": " + ", ".join(f"{n} {k}" for k, n in counts.most_common()) if total else "")
