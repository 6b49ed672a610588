"""The order API's decisions, pure: how big an order may be, whether a new order is valid, what a repeat
of an order id means, and how an order is shown.

An order is started as the workflow's execution named after its ``orderId`` (one order, one execution).
Its input is the order as posted, written canonically (sorted keys, no spaces), so the same order posted
again is the same input for Step Functions whatever its key order or spacing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from lambdas.shared.clock import iso
from lambdas.shared.errors import InvalidOrder, readable_cause
from lambdas.shared.order import order_id
from lambdas.timeline import logic as timeline
from lambdas.validate_order.logic import CatalogLookup, validate

# Step Functions refuses an execution input over 256 KiB (262,144 bytes of UTF-8).
MAX_INPUT_BYTES: Final = 256 * 1024
ENDED: Final = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


class TooLarge(ValueError):
    """The order is over what one execution may carry (413)."""


class Conflict(ValueError):
    """The order id names another order already (409): nothing was started or changed."""


class Invalid(ValueError):
    """The order is not valid (400); ``field`` is the path of the first field at fault.

    A plain exception: a frozen dataclass cost ~0.8 ms at import and refused the ``__traceback__``
    a ``with`` block's context manager sets on an exception passing through it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field, message)
        self.field = field
        self.message = message


def check_size(body: str | bytes | None) -> None:
    size = len(body.encode() if isinstance(body, str) else (body or b""))
    if size > MAX_INPUT_BYTES:
        raise TooLarge(f"the order is {size} bytes; an order may be at most {MAX_INPUT_BYTES} bytes (256 KiB)")


def parse_body(body: str | bytes | None) -> dict[str, Any]:
    """The posted order: a JSON object, or ``Invalid`` naming the body."""
    try:
        order = json.loads(body or "")
    except ValueError:
        order = None
    if not isinstance(order, dict):
        raise Invalid("body", "body: must be a JSON object (the order)")
    return order


def check_order_id(value: Any) -> str:
    """A path's ``{orderId}``, checked as an order's own id is, or ``Invalid`` naming it."""
    try:
        return str(order_id(value, "orderId"))
    except InvalidOrder as error:
        raise Invalid("orderId", str(error)) from None


def execution_input(order: Mapping[str, Any]) -> str:
    """The order as the execution's input: canonical JSON, within the size an execution may carry."""
    text = json.dumps(order, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    check_size(text)
    return text


def check_order(order: Any, currency: str, lookup: CatalogLookup) -> dict[str, Any]:
    """The order as ValidateOrder will see it (shape, then SKUs against the catalog), or ``Invalid``."""
    try:
        return validate(order, currency, lookup)
    except InvalidOrder as error:
        message = str(error)
        raise Invalid(field_of(message), message) from None


def field_of(message: str) -> str:
    """``items[1].quantity: must be ...`` -> ``items[1].quantity`` (the kernel names the field first)."""
    head, separator, _ = message.partition(": ")
    return head if separator and " " not in head else ""


def same_order(existing_input: str | None, order: Mapping[str, Any]) -> bool:
    try:
        return json.loads(existing_input or "null") == order
    except ValueError:
        return False


def repeated(order_id: str, existing: Mapping[str, Any], order: Mapping[str, Any]) -> None:
    """An execution of this order id exists: the same order is answered with it, another one is refused."""
    if not same_order(existing.get("input"), order):
        raise Conflict(
            f"order {order_id} was already placed with a different order ({existing.get('status')}); "
            "an order id names one order: nothing was changed"
        )


def accepted(order_id: str, execution: Mapping[str, Any], started: bool) -> dict[str, Any]:
    return {
        "orderId": order_id,
        "status": execution.get("status", "RUNNING"),
        "started": started,
        "executionArn": execution["executionArn"],
        "startedAt": _iso(execution.get("startDate")),
    }


def order_view(
    order_id: str,
    described: Mapping[str, Any],
    history: Iterable[Mapping[str, Any]],
    timeline_items: Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    """What ``GET /orders/{orderId}`` answers: status, the states passed, the named error and cause, and
    one timeline of the workflow's states, the events published and what each subscriber did."""
    history = list(history)
    states = timeline.workflow_entries(history)
    error, cause = described.get("error"), described.get("cause")
    if described.get("status") == "FAILED" and not error:
        failed = next((e for e in history if e.get("type") == "ExecutionFailed"), {})
        details = failed.get("executionFailedEventDetails", {})
        error, cause = details.get("error"), details.get("cause")
    return {
        "orderId": order_id,
        "status": described["status"],
        "channel": timeline.channel_of(described.get("input")),
        "startedAt": _iso(described.get("startDate")),
        "stoppedAt": _iso(described.get("stopDate")),
        "states": [entry["state"] for entry in states if entry.get("state")],
        "error": error,
        "cause": readable_cause(cause),
        "timeline": timeline.merge(states, timeline.subscriber_entries(timeline_items)),
    }


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return iso(value) if isinstance(value, datetime) else str(value)
