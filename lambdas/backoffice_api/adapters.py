"""What the back-office reads from AWS: the workflow's executions, the payments, the failure counters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any, Final

from lambdas.backoffice_api.logic import order_summary
from lambdas.order_api.logic import order_view
from lambdas.order_api.store import Executions, timeline_items
from lambdas.shared.adapters.dynamo import query_all
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
        yield from query_all(table, f"DAY#{day}", sk_prefix="ERROR#")


def order_detail(
    executions: Executions, payments: PaymentsTable, timeline_table: Any, order_id: str
) -> dict[str, Any] | None:
    """An order as the back-office shows it: the order API's view (status, states passed, named error and
    cause, the timeline), the customer and items, and its payment's review fields. None: no such order."""
    described = executions.describe(order_id)
    if described is None:
        return None
    view = order_view(order_id, described, executions.history(order_id), timeline_items(timeline_table, order_id))
    order = json.loads(described.get("input") or "{}")
    payment = payments.get(order_id) or {}
    return {
        **view,
        "customerId": (order.get("customer") or {}).get("id"),
        "currency": order.get("currency"),
        "items": order.get("items", []),
        "payment": {k: payment[k] for k in PAYMENT_FIELDS if k in payment},
    }
