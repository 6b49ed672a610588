"""EventBridge -> Lambda delivery, as AWS does it, for the subscribers in the template.

moto matches rules well (prefix, suffix, anything-but, numeric, exists, wildcard, $or) but raises
NotImplementedError for Lambda targets. ``moto_fixes`` routes every matched Lambda target here;
other targets (SQS, archive, logs, buses) stay with moto.

What happens to one event and one Lambda target, in the two stages AWS has:

1. EventBridge delivers (asynchronous invoke). It fails when the function does not exist or its
   resource policy does not let ``events.amazonaws.com`` invoke it for this rule (the template's
   ``AWS::Lambda::Permission``). Failures are retried per the target's ``RetryPolicy`` and then go to
   the target's ``DeadLetterConfig`` queue with EventBridge's message attributes, or are dropped.
2. Lambda runs the handler asynchronously. A handler error is retried by Lambda
   (``EventInvokeConfig.MaximumRetryAttempts``, default 2) and then goes to the function's on-failure
   destination or dead-letter queue, or is dropped.

Faults in stage 1 are injected through ``LambdaTargets.delivery_hook`` (sandbox/faults.py,
``FaultInjector.delivery``): called before each delivery attempt with the target's function ARN, its
handler and the event, it returns None (delivered) or (ERROR_CODE, message, retriable). A retriable
error (429, 5xx: THROTTLING, INTERNAL_ERROR) is retried under the target's RetryPolicy (attempts and
maximum event age); any other (NO_PERMISSIONS, NO_RESOURCE) goes to the dead-letter queue at once, as
AWS does. Either way the dead-letter message is the event itself, with RULE_ARN, TARGET_ARN,
ERROR_CODE, ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION and RETRY_ATTEMPTS attributes.

Delivery is asynchronous (a worker pool), as in AWS: ``drain()`` waits until nothing is in flight.
Every back-off is recorded on the clock instead of slept. Every attempt and outcome is recorded in
``deliveries`` so the demo and the tests can show what each subscriber did.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

from moto.core.utils import iso_8601_datetime_without_milliseconds, utcfromtimestamp
from moto.events.models import EventTemplateParser, Rule
from moto.utilities.arns import parse_arn

from sandbox.clock import Clock
from sandbox.lambda_runtime import Invocation

# EventBridge's defaults when a target has no RetryPolicy, and Lambda's async defaults.
DEFAULT_TARGET_RETRY_ATTEMPTS = 185
DEFAULT_TARGET_MAX_EVENT_AGE_SECONDS = 24 * 3600
# EventBridge backs off exponentially with jitter; the exact schedule is not published.
TARGET_MAX_BACKOFF_SECONDS = 300.0
DEFAULT_ASYNC_RETRY_ATTEMPTS = 2
# Lambda retries an async invocation after about one, then two minutes.
ASYNC_RETRY_DELAYS_SECONDS = (60.0, 120.0)
EVENTS_PRINCIPAL = "events.amazonaws.com"
# (function ARN, handler, event) -> None (delivered) or (ERROR_CODE, message, retriable)
DeliveryHook = Callable[[str, str, Any], "tuple[str, str, bool] | None"]


@dataclass
class Delivery:
    """One event delivered (or not) to one Lambda target of one rule."""

    rule: str
    target_id: str
    function: str
    event_id: str
    detail_type: str
    correlation_id: str | None
    attempts: int = 0  # runs of the function (Lambda's async attempts)
    refused: int = 0  # delivery attempts EventBridge made that failed before the function ran
    outcome: str = "PENDING"  # SUCCEEDED, FAILED (handler, after retries), UNDELIVERABLE (EventBridge)
    error: str | None = None
    dead_letter: str | None = None  # queue/topic ARN the failure went to, or None if dropped
    results: list[Any] = field(default_factory=list)


class LambdaTargets:
    """The delivery engine for one sandbox (installed by moto_fixes around Rule.send_to_targets)."""

    def __init__(
        self,
        clock: Clock,
        invoke: Callable[[Any, Any], Invocation],
        find_function: Callable[[str], Any | None],
        send_to_dead_letter: Callable[[str, str, dict[str, str]], None],
        workers: int = 16,
    ) -> None:
        self._clock = clock
        self._invoke = invoke  # (moto LambdaFunction, event) -> Invocation
        self._find_function = find_function  # function ARN -> moto LambdaFunction or None
        self._send_to_dead_letter = send_to_dead_letter  # (arn, body, attributes)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eventbridge")
        self._lock = threading.Lock()
        self._pending: set[Future[None]] = set()
        self._idle = threading.Condition(self._lock)
        self.deliveries: list[Delivery] = []
        self.delivery_hook: DeliveryHook | None = None  # faults in EventBridge's own delivery

    # -- called from moto (inside put_events, on the publisher's thread) ---------------------------
    def send(self, rule: Rule, original_event: dict[str, Any], original: Callable[..., None]) -> None:
        """Replacement body of Rule.send_to_targets: moto keeps the non-Lambda targets."""
        if rule.state == "DISABLED":  # moto delivers to disabled rules; AWS does not
            return
        if not rule.event_pattern.matches_event(cast(Any, original_event)):  # moto types events as a TypedDict
            return
        lambda_targets = [t for t in rule.targets if parse_arn(t["Arn"]).service == "lambda"]
        if len(lambda_targets) < len(rule.targets):
            others = copy.copy(rule)  # a shallow copy: concurrent put_events must not see a changed rule
            others.targets = [t for t in rule.targets if t not in lambda_targets]
            original(others, original_event)
        for target in lambda_targets:
            event = lambda_event(target, original_event)
            detail = original_event.get("detail")
            metadata = detail.get("metadata", {}) if isinstance(detail, dict) else {}
            delivery = Delivery(
                rule=rule.name,
                target_id=target["Id"],
                function=target["Arn"],
                event_id=original_event["id"],
                detail_type=original_event["detail-type"],
                correlation_id=metadata.get("correlationId") if isinstance(metadata, dict) else None,
            )
            with self._lock:
                self.deliveries.append(delivery)
                future = self._pool.submit(self._deliver, rule, target, event, delivery)
                self._pending.add(future)
            future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)
            if not self._pending:
                self._idle.notify_all()

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every delivery (and what it published in turn) has finished."""
        with self._lock:
            return self._idle.wait_for(lambda: not self._pending, timeout)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- one delivery -------------------------------------------------------------------------------
    def _deliver(self, rule: Rule, target: dict[str, Any], event: Any, delivery: Delivery) -> None:
        function = self._find_function(target["Arn"])
        refusal = _refusal(function, rule.arn, target["Arn"])
        if refusal is not None:
            self._undeliverable(rule, target, event, delivery, *refusal)
            return
        if not self._accepted(rule, target, event, delivery, function):
            return
        retry_attempts = _async_retry_attempts(function)
        for attempt in range(retry_attempts + 1):
            delivery.attempts += 1
            invocation = self._invoke(function, event)
            if not invocation.errored:
                delivery.outcome = "SUCCEEDED"
                delivery.results.append(json.loads(invocation.payload))
                return
            delivery.error = error_text(invocation)
            if attempt < retry_attempts:
                delay = ASYNC_RETRY_DELAYS_SECONDS[min(attempt, len(ASYNC_RETRY_DELAYS_SECONDS) - 1)]
                # Waited for on the clock when it paces back-offs (`make burst`): a throttle clears meanwhile.
                self._clock.back_off("delivery-retry", delay, None, f"{rule.name}/{target['Id']}")
        delivery.outcome = "FAILED"
        destination = _on_failure_destination(function)
        if destination:
            body = {
                "version": "1.0",
                "requestContext": {
                    "functionArn": target["Arn"],
                    "condition": "RetriesExhausted",
                    "approximateInvokeCount": delivery.attempts,
                },
                "requestPayload": event,
                "responseContext": {"functionError": "Unhandled"},
                "responsePayload": json.loads(invocation.payload),
            }
            self._send_to_dead_letter(destination, json.dumps(body), {"ErrorMessage": delivery.error or ""})
            delivery.dead_letter = destination

    def _accepted(self, rule: Rule, target: dict[str, Any], event: Any, delivery: Delivery, function: Any) -> bool:
        """EventBridge's asynchronous Invoke, retried under the target's RetryPolicy while it fails
        with a retriable error; False when the event went to the dead-letter queue (or was dropped)."""
        hook = self.delivery_hook
        if hook is None:
            return True
        policy = target.get("RetryPolicy", {})
        attempts = int(policy.get("MaximumRetryAttempts", DEFAULT_TARGET_RETRY_ATTEMPTS))
        max_age = float(policy.get("MaximumEventAgeInSeconds", DEFAULT_TARGET_MAX_EVENT_AGE_SECONDS))
        waited = 0.0
        for retry in range(attempts + 1):
            failure = hook(target["Arn"], function.handler, event)
            if failure is None:
                return True
            code, message, retriable = failure
            delivery.refused += 1
            delay = min(2.0**retry, TARGET_MAX_BACKOFF_SECONDS)
            condition = None
            if not retriable:
                condition = ""  # not retried: straight to the dead-letter queue
            elif retry == attempts:
                condition = "MaximumRetryAttempts"
            elif waited + delay > max_age:
                condition = "MaximumEventAgeInSeconds"
            if condition is not None:
                self._dead_letter(rule, target, event, delivery, code, message, condition, retry)
                return False
            waited += delay
            self._clock.record("delivery-retry", delay, None, f"{rule.name}/{target['Id']}")
        return True  # not reached: the last attempt either succeeds or dead-letters

    def _dead_letter(
        self,
        rule: Rule,
        target: dict[str, Any],
        event: Any,
        delivery: Delivery,
        code: str,
        message: str,
        condition: str,
        retries: int,
    ) -> None:
        delivery.outcome = "UNDELIVERABLE"
        delivery.error = f"{code}: {message}"
        dead_letter = target.get("DeadLetterConfig", {}).get("Arn")
        if not dead_letter:
            return  # dropped: only the EventsDropped metric would show it
        attributes = {
            "RULE_ARN": rule.arn,
            "TARGET_ARN": target["Arn"],
            "ERROR_CODE": code,
            "ERROR_MESSAGE": message,
            "EXHAUSTED_RETRY_CONDITION": condition,
            "RETRY_ATTEMPTS": str(retries),
        }
        self._send_to_dead_letter(dead_letter, json.dumps(event), attributes)
        delivery.dead_letter = dead_letter

    def _undeliverable(
        self, rule: Rule, target: dict[str, Any], event: Any, delivery: Delivery, code: str, message: str
    ) -> None:
        policy = target.get("RetryPolicy", {})
        attempts = int(policy.get("MaximumRetryAttempts", DEFAULT_TARGET_RETRY_ATTEMPTS))
        for retry in range(attempts):
            # EventBridge backs off exponentially with jitter; the exact schedule is not published.
            self._clock.record("delivery-retry", min(2.0**retry, 300.0), None, f"{rule.name}/{target['Id']}")
        delivery.attempts = attempts + 1
        delivery.outcome = "UNDELIVERABLE"
        delivery.error = f"{code}: {message}"
        dead_letter = target.get("DeadLetterConfig", {}).get("Arn")
        if dead_letter:
            attributes = {
                "RULE_ARN": rule.arn,
                "TARGET_ARN": target["Arn"],
                "ERROR_CODE": code,
                "ERROR_MESSAGE": message,
            }
            self._send_to_dead_letter(dead_letter, json.dumps(event), attributes)
            delivery.dead_letter = dead_letter


def lambda_event(target: dict[str, Any], original_event: dict[str, Any]) -> Any:
    """The payload a Lambda target receives: the event (AWS shape) or the target's Input*."""
    event = {k: v for k, v in original_event.items() if k != "ingestion-time"}
    if isinstance(event.get("time"), int | float):
        event["time"] = iso_8601_datetime_without_milliseconds(utcfromtimestamp(event["time"]))
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        from jsonpath_ng.ext import parse

        matches = parse(target["InputPath"]).find(event)
        return matches[0].value if matches else None
    if "InputTransformer" in target:
        transformer = target["InputTransformer"]
        rendered = EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=cast(Any, event),
        )
        return rendered
    return event


def _refusal(function: Any | None, rule_arn: str, function_arn: str) -> tuple[str, str] | None:
    """Why EventBridge may not invoke the function, or None when it may."""
    if function is None:
        return "ResourceNotFoundException", f"Function not found: {function_arn}"
    for statement in function.policy.statements:
        principal = statement.get("Principal", {})
        service = principal.get("Service") if isinstance(principal, dict) else principal
        if statement.get("Effect", "Allow") != "Allow" or service not in (EVENTS_PRINCIPAL, "*"):
            continue
        condition = statement.get("Condition", {})
        source_arn = condition.get("ArnLike", {}).get("AWS:SourceArn") or condition.get("ArnEquals", {}).get(
            "AWS:SourceArn"
        )
        if source_arn in (None, rule_arn) or _arn_like(source_arn, rule_arn):
            return None
    return "AccessDeniedException", f"events.amazonaws.com may not invoke {function_arn} for rule {rule_arn}"


def _arn_like(pattern: str, arn: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(arn, pattern)


def _async_config(function: Any) -> dict[str, Any]:
    configs = getattr(function, "event_invoke_config", None) or []
    return configs[0].config if configs else {}


def _async_retry_attempts(function: Any) -> int:
    return int(_async_config(function).get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRY_ATTEMPTS))


def _on_failure_destination(function: Any) -> str | None:
    """Where Lambda sends an async event whose retries are exhausted (destination, then DLQ)."""
    destination = _async_config(function).get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    return destination or (getattr(function, "dead_letter_config", None) or {}).get("TargetArn")


def error_text(invocation: Invocation) -> str:
    try:
        payload = json.loads(invocation.payload)
        return f"{payload.get('errorType')}: {payload.get('errorMessage')}"
    except (ValueError, AttributeError):
        return invocation.payload
