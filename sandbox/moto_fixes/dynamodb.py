"""DynamoDB: each request is atomic, as in AWS, when handlers and executions call it from many threads."""

from __future__ import annotations

import threading
from typing import Any

from sandbox.moto_fixes.base import original, register

_dynamodb_lock = threading.RLock()


def _dynamodb_call_action(self: Any) -> Any:
    with _dynamodb_lock:
        return original("dynamodb-serializable")(self)


register(
    "dynamodb-serializable",
    "DynamoDB calls on concurrent threads are not isolated: TransactWriteItems deep-copies a table "
    "while another thread writes it ('RuntimeError: dictionary changed size during iteration' fails an "
    "order), and a condition check and its write can interleave with another writer's, so two orders "
    "could both take the last unit. DynamoDB makes each request atomic; the sandbox runs one at a time.",
    {("moto.dynamodb.responses:DynamoHandler", "call_action"): _dynamodb_call_action},
)
