"""What the back-office reads from AWS: the workflow's executions, the payments, the failure counters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any, Final

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from lambdas.backoffice_api.logic import order_summary
from lambdas.shared.adapters.payments import PaymentsTable

_PAGE: Final = 50
# Fields of the payment item a reviewer or operator is shown (never the task token).
PAYMENT_FIELDS: Final = (
    "status",
    "amountCents",
    "currency",
    "customerId",
    "requestedAt",
    "reviewDeadline",
    "reviewer",
    "decidedAt",
    "reviewNote",
)


def execution_arn(state_machine_arn: str, order_id: str) -> str:
    """The execution of an order (its name is the order id)."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + order_id


def orders_by_status(sfn: Any, state_machine_arn: str, status: str, next_token: str | None) -> dict[str, Any]:
    """One page (newest first) of the workflow's executions in ``status``."""
    request: dict[str, Any] = {"stateMachineArn": state_machine_arn, "statusFilter": status, "maxResults": _PAGE}
    if next_token:
        request["nextToken"] = next_token
    page = sfn.list_executions(**request)
    return {
        "status": status,
        "orders": [order_summary(e) for e in page.get("executions", [])],
        "nextToken": page.get("nextToken"),
    }


def failure_counters(table: Any, today: date, days: int) -> Iterator[dict[str, Any]]:
    """failure_stats' counters of the last ``days`` days (one Query per day: pk DAY#<yyyy-mm-dd>)."""
    for back in range(days):
        day = (today - timedelta(days=back)).isoformat()
        request: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(f"DAY#{day}") & Key("sk").begins_with("ERROR#")
        }
        while True:
            page = table.query(**request)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
        events.extend(page["events"])
    return events


def order_detail(sfn: Any, state_machine_arn: str, payments: PaymentsTable, order_id: str) -> dict[str, Any] | None:
    """An order as the back-office shows it: status, input, the states it passed (with times and
    outcome), its named error and cause, and its payment's review fields. None: no such order."""
    arn = execution_arn(state_machine_arn, order_id)
    try:
        execution = sfn.describe_execution(executionArn=arn)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
            return None
        raise
    order = json.loads(execution.get("input") or "{}")
    states: list[dict[str, Any]] = []
    entered: dict[str, dict[str, Any]] = {}
    for event in _history(sfn, arn):
        kind = event["type"]
        when = event["timestamp"].isoformat()
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            entered[name] = {"state": name, "enteredAt": when, "exitedAt": None, "outcome": "running"}
            states.append(entered[name])
        elif kind.endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            if name in entered:
                entered[name].update(
                    exitedAt=when,
                    outcome="succeeded" if entered[name]["outcome"] == "running" else entered[name]["outcome"],
                )
        elif kind in ("TaskFailed", "LambdaFunctionFailed", "TaskTimedOut", "LambdaFunctionTimedOut") and states:
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            states[-1]["outcome"] = "failed"
            states[-1]["error"] = details.get("error")
    payment = payments.get(order_id) or {}
    return {
        "orderId": order_id,
        "status": execution["status"],
        "startedAt": execution["startDate"].isoformat(),
        "stoppedAt": execution["stopDate"].isoformat() if execution.get("stopDate") else None,
        "error": execution.get("error"),
        "cause": execution.get("cause"),
        "customerId": (order.get("customer") or {}).get("id"),
        "currency": order.get("currency"),
        "items": order.get("items", []),
        "payment": {k: payment[k] for k in PAYMENT_FIELDS if k in payment},
        "states": states,
    }
