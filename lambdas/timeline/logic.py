"""The timeline's domain: what a subscriber's delivery records, and one order's entries in time order.

Pure Python. An entry is a dict with ``at`` (ISO 8601, UTC), ``source`` ("workflow", "bus" or
"subscriber") and what happened; ``merge`` orders the workflow's states, the events published and the
subscribers' actions into one list.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from lambdas.shared import constants
from lambdas.shared.clock import iso

_PK, _SK = constants.SUBSCRIBER_TABLE_KEYS

# What a subscriber did with one delivery of one event.
RECEIVED: Final = "received"
APPLIED: Final = "applied"
DUPLICATE: Final = "ignored as a duplicate"
FAILED: Final = "failed, will be retried"
DEAD_LETTERED: Final = "failed, dead-lettered"
OUTCOMES: Final = (RECEIVED, APPLIED, DUPLICATE, FAILED, DEAD_LETTERED)

# Lambda runs an asynchronous invocation once and retries it this many times, then sends the event to
# the function's on-failure destination (the subscriber's dead-letter queue): the stack sets the same number.
ATTEMPTS_BEFORE_DEAD_LETTER: Final = 1 + constants.SUBSCRIBER_ASYNC_RETRY_ATTEMPTS
# Kept as long as Step Functions keeps a closed execution's history.
TTL_DAYS: Final = 90

ORDER_PREFIX: Final = "ORDER#"
FAILURES_PREFIX: Final = "FAILURES#"


def order_of(event: Mapping[str, Any]) -> str | None:
    """The order an EventBridge event is about: its correlation id (= order id), else data.orderId."""
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        return None
    metadata, data = detail.get("metadata"), detail.get("data")
    for found in (
        metadata.get("correlationId") if isinstance(metadata, Mapping) else None,
        data.get("orderId") if isinstance(data, Mapping) else None,
    ):
        if isinstance(found, str) and found:
            return found
    return None


def delivery_record(
    event: Mapping[str, Any], subscriber: str, outcome: str, at: str, request_id: str, error: str | None = None
) -> dict[str, Any]:
    """The item one step of one delivery leaves in the timeline table (``order_of(event)`` must be known)."""
    order_id = order_of(event)
    if order_id is None:
        raise ValueError("the event names no order (detail.metadata.correlationId or detail.data.orderId)")
    event_id = str(event.get("id", ""))
    item: dict[str, Any] = {
        _PK: ORDER_PREFIX + order_id,
        # Unique per step of each attempt; sorted by time (ISO 8601 in UTC sorts as text).
        _SK: f"{at}#{subscriber}#{event_id}#{outcome}#{request_id}",
        "at": at,
        "subscriber": subscriber,
        "eventId": event_id,
        "eventType": str(event.get("detail-type", "")),
        "publishedAt": str(event.get("time", "")),
        "outcome": outcome,
        constants.MARKER_TTL_ATTRIBUTE: expiry(at),
    }
    if error:
        item["error"] = error[:1000]
    return item


def channel_of(execution_input: Any) -> str:
    """The channel an order came through, from its execution's input (the JSON text or the parsed order):
    web, marketplace:<name> or store:<name>; web when the input names none (web orders before channels)."""
    if isinstance(execution_input, str):
        try:
            execution_input = json.loads(execution_input)
        except ValueError:
            execution_input = None
    channel = execution_input.get("channel") if isinstance(execution_input, Mapping) else None
    return channel if isinstance(channel, str) and channel else constants.CHANNEL_WEB


def failure_key(order_id: str, subscriber: str, event_id: str) -> dict[str, str]:
    """The counter of a subscriber's failed runs of one event (Lambda's attempts are not in the event)."""
    return {_PK: ORDER_PREFIX + order_id, _SK: f"{FAILURES_PREFIX}{subscriber}#{event_id}"}


def failure_outcome(failures: int) -> str:
    """A failed run is retried by Lambda until the last attempt, which goes to the dead-letter queue."""
    return DEAD_LETTERED if failures >= ATTEMPTS_BEFORE_DEAD_LETTER else FAILED


def expiry(at: str) -> int:
    return int(datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()) + TTL_DAYS * 86_400


# -- reading -----------------------------------------------------------------------------------------


def subscriber_entries(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The table's items as timeline entries: each event published once (when it was put on the bus),
    then every subscriber's step."""
    entries: list[dict[str, Any]] = []
    published: set[str] = set()
    for item in items:
        if str(item.get(_SK, "")).startswith(FAILURES_PREFIX) or "outcome" not in item:
            continue
        event_id = str(item.get("eventId", ""))
        if event_id not in published and item.get("publishedAt"):
            published.add(event_id)
            entries.append(
                {
                    "at": normal_time(str(item["publishedAt"])),
                    "source": "bus",
                    "event": item.get("eventType"),
                    "eventId": event_id,
                    "outcome": "published",
                }
            )
        entry = {
            "at": str(item["at"]),
            "source": "subscriber",
            "subscriber": item.get("subscriber"),
            "event": item.get("eventType"),
            "eventId": event_id,
            "outcome": item["outcome"],
        }
        if item.get("error"):
            entry["error"] = item["error"]
        entries.append(entry)
    return entries


def workflow_entries(history: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Step Functions history events -> one entry per state visited (time entered, outcome, attempts),
    and the execution's own end."""
    entries: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for event in history:
        kind = str(event.get("type", ""))
        at = _when(event.get("timestamp"))
        details = next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, Mapping)), {})
        if kind.endswith("StateEntered"):
            current = {"at": at, "source": "workflow", "state": details.get("name"), "outcome": "entered"}
            entries.append(current)
        elif kind.endswith("StateExited") and current is not None:
            if current["outcome"] == "entered":
                current["outcome"] = "succeeded"
            current["endedAt"] = at
        elif kind.endswith("Scheduled") and current is not None:
            current["attempts"] = current.get("attempts", 0) + 1
        elif kind.endswith("Succeeded") and not kind.startswith("Execution") and current is not None:
            if current["outcome"] == "failed":  # a Retry ran it again, and it worked
                current["outcome"] = "entered"
                current["retriedAfter"] = current.pop("error")
                current.pop("endedAt", None)
        elif kind.endswith(("Failed", "TimedOut")) and not kind.startswith("Execution") and current is not None:
            current["outcome"] = "failed"
            current["error"] = details.get("error")
            current["endedAt"] = at
        elif kind in ("ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"):
            end = {"at": at, "source": "workflow", "outcome": kind.removeprefix("Execution").upper()}
            if details.get("error"):
                end["error"] = details["error"]
            entries.append(end)
    for entry in entries:
        if entry.get("attempts", 0) <= 1:
            entry.pop("attempts", None)
    return entries


def merge(*parts: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """All entries in time order (stable: at one instant, the order they were given in)."""
    return sorted((entry for part in parts for entry in part), key=lambda entry: entry["at"])


def normal_time(text: str) -> str:
    """An ISO 8601 time as the timeline writes them (UTC, milliseconds, "Z"), so they sort as text."""
    try:
        return iso(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return text


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return iso(value if value.tzinfo else value.replace(tzinfo=UTC))
    return normal_time(str(value))
