"""Counts the billed API calls the Lambda handlers make, on the moto side of the wire.

Why moto's side: every boto3 call (low-level client or DynamoDB Table resource) arrives there as
the low-level request, so DynamoDB items are measured in the same shape AWS bills them; and the
stored items are there to size an UpdateItem or DeleteItem (AWS bills the larger of the item before
and after a write, and a failed conditional write too).

Attribution: a call counts when a handler makes it. In the sandbox every Lambda runs on a thread
named ``lambda:<function>`` (sandbox/lambda_runtime.py); the direct baseline marks its own calls
with ``Meter.acting_as``. Calls by the Step Functions interpreter itself (sqs:sendMessage,
events:putEvents tasks) are not counted here: they come from the execution history (bench.history).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench import cost, prices

_WRITES = ("PutItem", "UpdateItem", "DeleteItem")


@dataclass
class Calls:
    """What handlers called, summed."""

    dynamodb_wru: float = 0.0
    dynamodb_rru: float = 0.0
    dynamodb_calls: dict[str, int] = field(default_factory=dict)  # operation -> calls
    eventbridge_events: int = 0  # 64 KB chunks of PutEvents entries
    sqs_requests: int = 0
    ses_emails: int = 0
    calls: dict[str, int] = field(default_factory=dict)  # "service:Operation" -> calls

    def as_dict(self) -> dict[str, Any]:
        return {
            "dynamodb_wru": self.dynamodb_wru,
            "dynamodb_rru": self.dynamodb_rru,
            "dynamodb_calls": dict(sorted(self.dynamodb_calls.items())),
            "eventbridge_events": self.eventbridge_events,
            "sqs_requests": self.sqs_requests,
            "ses_emails": self.ses_emails,
            "calls": dict(sorted(self.calls.items())),
        }


class Meter:
    """Install with ``with Meter() as meter:`` inside a running sandbox; read ``meter.take()``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self._calls = Calls()
        self._original: Any = None

    # -- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> Meter:
        from moto.core.responses import BaseResponse

        self._original = BaseResponse.__dict__["call_action"]
        meter = self

        def call_action(response_self: Any) -> Any:
            return meter._call_action(response_self)

        BaseResponse.call_action = call_action  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        from moto.core.responses import BaseResponse

        BaseResponse.call_action = self._original  # type: ignore[method-assign]

    def take(self) -> Calls:
        """What was counted since the last take (and start again)."""
        with self._lock:
            calls, self._calls = self._calls, Calls()
        return calls

    @contextmanager
    def acting_as(self, function: str) -> Iterator[None]:
        """Count the calls of this thread's block as made by `function` (the direct baseline)."""
        previous = getattr(self._local, "function", None)
        self._local.function = function
        try:
            yield
        finally:
            self._local.function = previous

    def _caller(self) -> str | None:
        marked = getattr(self._local, "function", None)
        if marked:
            return str(marked)
        name = threading.current_thread().name
        return name.removeprefix("lambda:") if name.startswith("lambda:") else None

    # -- the wrapper ---------------------------------------------------------------------------
    def _call_action(self, handler: Any) -> Any:
        if self._caller() is None:
            return self._original(handler)
        service = type(handler).__module__.split(".")[1]
        action = handler._get_action()
        params = _params(handler)
        before = _sizes_before(handler, action, params) if service == "dynamodb" else {}
        response = self._original(handler)
        body = _response_body(response)
        with self._lock:
            calls = self._calls
            calls.calls[f"{service}:{action}"] = calls.calls.get(f"{service}:{action}", 0) + 1
            if service == "dynamodb":
                calls.dynamodb_calls[action] = calls.dynamodb_calls.get(action, 0) + 1
                wru, rru = _dynamodb_units(handler, action, params, body, before)
                calls.dynamodb_wru += wru
                calls.dynamodb_rru += rru
            elif service == "events" and action == "PutEvents":
                for entry in params.get("Entries", []):
                    size = len(json.dumps(entry, separators=(",", ":")).encode())
                    calls.eventbridge_events += cost.chunks(size, prices.EVENTBRIDGE_CHUNK_BYTES)
            elif service == "sqs" and action in ("SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage"):
                calls.sqs_requests += 1
            elif service in ("ses", "sesv2") and action in ("SendEmail", "SendRawEmail", "SendTemplatedEmail"):
                calls.ses_emails += 1
        return response


def _params(handler: Any) -> dict[str, Any]:
    params = getattr(handler, "params", None)
    if isinstance(params, dict) and params:
        return params
    body = getattr(handler, "body", None)
    if isinstance(body, bytes | str) and body:
        try:
            parsed = json.loads(body)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return body if isinstance(body, dict) else {}


def _response_body(response: Any) -> dict[str, Any]:
    try:
        text = response[2] if isinstance(response, tuple) else None
        parsed = json.loads(text) if text else {}
    except (ValueError, TypeError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


# ---------------------------------------------------------------------------
# DynamoDB request units
# ---------------------------------------------------------------------------
def _stored_size(handler: Any, table_name: str, key_or_item: dict[str, Any]) -> int:
    """Size of the stored item with this key (0 if none), read from moto's backend (not an API call)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        table = handler.dynamodb_backend.get_table(table_name)
        hash_key = DynamoType(key_or_item[table.hash_key_attr])
        range_key = DynamoType(key_or_item[table.range_key_attr]) if table.range_key_attr else None
        item = table.get_item(hash_key, range_key)
    except Exception:  # a missing table or key: the call itself fails and says so
        return 0
    return int(item.size()) if item is not None else 0


def write_targets(action: str, params: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, table, key or item) of every item a write request touches."""
    if action in ("PutItem",):
        return [("Put", params.get("TableName", ""), params.get("Item", {}))]
    if action in ("UpdateItem", "DeleteItem"):
        return [(action.removesuffix("Item"), params.get("TableName", ""), params.get("Key", {}))]
    if action == "TransactWriteItems":
        targets = []
        for entry in params.get("TransactItems", []):
            for kind, spec in entry.items():
                key = spec.get("Item") if kind == "Put" else spec.get("Key", {})
                targets.append((kind, spec.get("TableName", ""), key or {}))
        return targets
    if action == "BatchWriteItem":
        targets = []
        for table_name, requests in params.get("RequestItems", {}).items():
            for request in requests:
                if "PutRequest" in request:
                    targets.append(("Put", table_name, request["PutRequest"].get("Item", {})))
                elif "DeleteRequest" in request:
                    targets.append(("Delete", table_name, request["DeleteRequest"].get("Key", {})))
        return targets
    return []


def _sizes_before(handler: Any, action: str, params: dict[str, Any]) -> dict[int, int]:
    return {
        index: _stored_size(handler, table_name, key)
        for index, (_kind, table_name, key) in enumerate(write_targets(action, params))
    }


def _dynamodb_units(
    handler: Any, action: str, params: dict[str, Any], body: dict[str, Any], before: dict[int, int]
) -> tuple[float, float]:
    """(write units, read units) of one call, by the on-demand rules in bench/prices.py."""
    if action in _WRITES or action in ("TransactWriteItems", "BatchWriteItem"):
        transactional = action == "TransactWriteItems"
        wru = 0.0
        for index, (kind, table_name, key) in enumerate(write_targets(action, params)):
            after = _stored_size(handler, table_name, key) if kind in ("Put", "Update") else 0
            if kind == "Put":
                after = max(after, cost.item_bytes(key))
            wru += cost.write_units(max(before.get(index, 0), after), transactional)
        return wru, 0.0
    consistent = bool(params.get("ConsistentRead"))
    if action == "GetItem":
        return 0.0, cost.read_units(cost.item_bytes(body.get("Item")), consistent)
    if action in ("Query", "Scan"):
        return 0.0, cost.query_units((cost.item_bytes(item) for item in body.get("Items", [])), consistent)
    if action == "TransactGetItems":
        responses = body.get("Responses", [])
        return 0.0, sum(cost.read_units(cost.item_bytes(r.get("Item")), transactional=True) for r in responses)
    if action == "BatchGetItem":
        rru = 0.0
        for table_name, items in body.get("Responses", {}).items():
            table_consistent = bool(params.get("RequestItems", {}).get(table_name, {}).get("ConsistentRead"))
            rru += sum(cost.read_units(cost.item_bytes(item), table_consistent) for item in items)
        return 0.0, rru
    return 0.0, 0.0
