"""What an execution history says an order cost: state transitions, Lambda invocations, messages.

Step Functions Standard bills every state transition: each state entered, plus each retry of a task
(a retry runs the task again without a new StateEntered event). Lambda invocations are the task
steps scheduled on a Lambda resource (``arn:aws:states:::lambda:invoke`` and its
``.waitForTaskToken`` form show as TaskScheduled with resourceType "lambda"; a bare function ARN
as LambdaFunctionScheduled).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bench import cost, prices

_SCHEDULED = ("TaskScheduled", "LambdaFunctionScheduled")


@dataclass
class HistoryCounts:
    states: list[str] = field(default_factory=list)  # states entered, in order
    state_entered: int = 0
    retries: int = 0
    lambda_invocations: int = 0
    lambda_by_state: dict[str, int] = field(default_factory=dict)
    # Service integrations the workflow calls itself (billed by those services).
    sqs_requests: int = 0  # 64 KB chunks of sqs:sendMessage bodies
    eventbridge_events: int = 0  # 64 KB chunks of events:putEvents entries

    @property
    def transitions(self) -> int:
        return self.state_entered + self.retries


def _is_state_entered(event: Mapping[str, Any]) -> bool:
    return str(event.get("type", "")).endswith("StateEntered") or "stateEnteredEventDetails" in event


def _scheduled(event: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
    """(resourceType, resource, parameters) of a scheduled task step, or None."""
    kind = event.get("type")
    if kind == "LambdaFunctionScheduled":
        details = event.get("lambdaFunctionScheduledEventDetails", {})
        return "lambda", str(details.get("resource", "")), _json(details.get("input"))
    if kind == "TaskScheduled":
        details = event.get("taskScheduledEventDetails", {})
        return str(details.get("resourceType", "")), str(details.get("resource", "")), _json(details.get("parameters"))
    return None


def _json(text: Any) -> dict[str, Any]:
    if isinstance(text, dict):
        return text
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _payload_bytes(value: Any) -> int:
    return len((value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))).encode())


def count(events: Iterable[Mapping[str, Any]]) -> HistoryCounts:
    """Count one execution's history (events in id order, as GetExecutionHistory returns them)."""
    counts = HistoryCounts()
    current: str | None = None
    scheduled_in_state = 0
    for event in events:
        if _is_state_entered(event):
            current = str(event.get("stateEnteredEventDetails", {}).get("name", ""))
            counts.states.append(current)
            counts.state_entered += 1
            scheduled_in_state = 0
            continue
        scheduled = _scheduled(event)
        if scheduled is None:
            continue
        scheduled_in_state += 1
        if scheduled_in_state > 1:  # the same state scheduled its task again: a retry
            counts.retries += 1
        resource_type, resource, parameters = scheduled
        if resource_type == "lambda":
            counts.lambda_invocations += 1
            state = current or "?"
            counts.lambda_by_state[state] = counts.lambda_by_state.get(state, 0) + 1
        elif resource_type == "sqs" and resource.startswith("sendMessage"):
            counts.sqs_requests += cost.chunks(
                _payload_bytes(parameters.get("MessageBody", "")), prices.SQS_CHUNK_BYTES
            )
        elif resource_type == "events" and resource.startswith("putEvents"):
            for entry in parameters.get("Entries", []):
                counts.eventbridge_events += cost.chunks(_payload_bytes(entry), prices.EVENTBRIDGE_CHUNK_BYTES)
    return counts


# What a log without execution data leaves out of each record (infra/workflow.py's LogOptions).
_EXECUTION_DATA = ("input", "output", "parameters", "result")

# Which history events each log level writes (https://docs.aws.amazon.com/step-functions/latest/dg/cloudwatch-log-level.html):
# ALL every event; ERROR the failures (types ending Failed, TimedOut or Aborted, and FailStateEntered);
# FATAL the execution's own failure events; OFF none.
_ERROR_SUFFIXES = ("Failed", "TimedOut", "Aborted")
_FATAL_TYPES = frozenset({"ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"})


def logged_at(level: str, event_type: str) -> bool:
    """Whether Step Functions writes a history event of this type to the execution log at this level."""
    if level == "ALL":
        return True
    if level == "ERROR":
        return event_type.endswith(_ERROR_SUFFIXES) or event_type == "FailStateEntered"
    if level == "FATAL":
        return event_type in _FATAL_TYPES
    if level == "OFF":
        return False
    raise ValueError(f"unknown Step Functions log level {level!r}")


def execution_log_lines(events: Iterable[Mapping[str, Any]], execution_arn: str, level: str) -> list[str]:
    """The execution log's records for this history at this level (the template's LoggingConfiguration),
    shaped as Step Functions writes them to CloudWatch Logs
    (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html#cloudwatch-log-level-event-example)."""
    lines = []
    for event in events:
        if not logged_at(level, str(event.get("type", ""))):
            continue
        details = next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})
        record = {
            "id": str(event.get("id", "")),
            "type": event.get("type"),
            "details": {k: v for k, v in details.items() if k not in _EXECUTION_DATA},
            "previous_event_id": str(event.get("previousEventId", "0")),
            "event_timestamp": str(int(_epoch_ms(event.get("timestamp")))),
            "execution_arn": execution_arn,
        }
        lines.append(json.dumps(record, separators=(",", ":"), default=str))
    return lines


def _epoch_ms(value: Any) -> float:
    if hasattr(value, "timestamp"):
        return float(value.timestamp()) * 1000
    return float(value or 0)
