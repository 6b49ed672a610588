"""The event contract: a versioned envelope around every event we publish on the order bus.

``detail = {"metadata": {...}, "data": {...}}``; metadata carries the event version, the
correlation id (= order id), when it happened and who produced it. The workflow's putEvents
states build the same envelope in ASL (statemachines/order_workflow.asl.json).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from lambdas.shared import constants
from lambdas.shared.clock import now_iso, utc_now


def envelope(
    data: dict[str, Any], correlation_id: str, producer: str, occurred_at: str | None = None
) -> dict[str, Any]:
    return {
        "metadata": {
            "eventVersion": constants.EVENT_VERSION,
            "correlationId": correlation_id,
            "occurredAt": occurred_at or now_iso(),
            "producer": producer,
        },
        "data": data,
    }


def put_events_entry(
    bus_name: str, detail_type: str, detail: dict[str, Any], source: str = constants.EVENT_SOURCE
) -> dict[str, Any]:
    """One PutEvents entry with our source (a marketplace connector: its own)."""
    return {
        "EventBusName": bus_name,
        "Source": source,
        "DetailType": detail_type,
        "Detail": json.dumps(detail, separators=(",", ":"), default=str),
    }


def parse_time(iso: str) -> datetime:
    """An ISO 8601 timestamp as we publish it ("...Z" or "+00:00"), as an aware datetime."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def occurred_on(detail: dict[str, Any]) -> str:
    """The UTC day (YYYY-MM-DD) the event happened: stable under redelivery and replay."""
    return parse_time(detail["metadata"]["occurredAt"]).astimezone(UTC).date().isoformat()


def marker_expiry(detail: dict[str, Any], ttl_days: int, now: datetime | None = None) -> int:
    """Epoch seconds until which an idempotency marker for this event must be kept: ``ttl_days`` (the archive's
    retention and a margin) from when the event happened, or from ``now`` (default: the clock) when that is
    later. The marker is written once (a conditional Put), so a redelivery computing another value changes
    nothing; counting from the event's time alone gave an event that claims an old ``occurredAt`` (a forged
    one, issue 11) a marker already expired, which DynamoDB's TTL deletes, and a replay counted it again.
    """
    happened = parse_time(detail["metadata"]["occurredAt"])
    return int(max(happened, now or utc_now()).timestamp()) + ttl_days * 86_400
