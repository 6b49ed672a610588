"""`orderctl trace ORDER_ID [--json]`: one order's timeline, the same view as `GET /orders/{orderId}`
(lambdas/order_api): each state with its time and outcome, each event published, what each subscriber did."""

from __future__ import annotations

from lambdas.order_api import logic, store
from lambdas.timeline import store as timeline_store
from orderctl import render
from orderctl.errors import OrderctlError
from orderctl.stack import DeployedStack, check_order_id


def trace(stack: DeployedStack, order_id: str) -> render.Output:
    executions = store.Executions(stack.client("stepfunctions"), stack.state_machine_arn)
    described = executions.describe(check_order_id(order_id))
    if described is None:
        raise OrderctlError(f"no order {order_id!r}: the workflow has no execution of that name")
    timeline_table = stack.table(stack.output(timeline_store.TIMELINE_TABLE_OUTPUT))
    view = logic.order_view(
        order_id, described, executions.history(order_id), store.timeline_items(timeline_table, order_id)
    )
    rows = [
        [
            entry["at"],
            entry.get("state") or entry.get("subscriber") or entry["source"],
            entry.get("event") or "",
            entry["outcome"] + (f" ({entry['error']})" if entry.get("error") else ""),
        ]
        for entry in view["timeline"]
    ]
    failed = f" with {view['error']}" if view.get("error") else ""
    headline = f"Order {order_id} ({view['channel']}): {view['status']}{failed}"
    text = "\n".join([headline, render.table(["at (UTC)", "who", "event", "outcome"], rows)])
    return render.Output(view, text, ok=view["status"] in ("RUNNING", "SUCCEEDED"))
