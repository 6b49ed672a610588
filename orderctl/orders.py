"""start and status: an order is one execution of the workflow, named after its order id."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from lambdas.review_monitor.logic import waiting_review
from lambdas.shared import constants
from lambdas.shared.adapters.payments import PaymentsTable
from lambdas.shared.errors import readable_cause
from lambdas.timeline import logic as timeline
from orderctl import render
from orderctl.errors import OrderctlError, UsageError
from orderctl.stack import DeployedStack, check_order_id

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "orders"
POLL_SECONDS = 0.25
# ReviewTimedOut's cause (statemachines/order_workflow.asl.json) counts seconds: ASL cannot divide.


# -- building the order --------------------------------------------------------------------------
def example_names() -> list[str]:
    return sorted(p.stem for p in EXAMPLES.glob("*.json"))


def load_order(path: Path | None, example: str | None) -> dict[str, Any]:
    """The order in a JSON file, or examples/orders/<example>.json (default: the happy example)."""
    if path is None:
        name = example or "happy"
        path = EXAMPLES / f"{name}.json"
        if not path.exists():
            raise UsageError(f"no example named {name!r}", f"examples: {', '.join(example_names())}")
    try:
        order = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except json.JSONDecodeError as error:
        raise UsageError(f"{path} is not JSON: {error.msg} at line {error.lineno}, column {error.colno}") from None
    if not isinstance(order, dict):
        raise UsageError(f"{path} must hold one order (a JSON object)", "see docs/CONTRACTS.md, 'Order'")
    return order


def parse_item(text: str) -> dict[str, Any]:
    sku, _, quantity = text.partition("=")
    if not sku or not quantity.isdigit() or int(quantity) < 1:
        raise UsageError(f"--item {text!r}: write SKU=QUANTITY, e.g. --item MUG-BLUE=2")
    return {"sku": sku.strip(), "quantity": int(quantity)}


@dataclass(frozen=True)
class Overrides:
    """What the operator changes on the loaded order (None = keep)."""

    order_id: str | None = None
    items: list[str] = field(default_factory=list)
    displayed_total: float | None = None
    token: str | None = None
    variant: str | None = None
    customer_id: str | None = None
    email: str | None = None


def build_order(base: dict[str, Any], changes: Overrides) -> dict[str, Any]:
    order = json.loads(json.dumps(base))  # a deep copy
    if changes.order_id is not None:
        order["orderId"] = changes.order_id
    if changes.items:
        if changes.displayed_total is None:
            raise UsageError(
                "--item changes what the order costs",
                "add --displayed-total with the total the customer was shown (the workflow checks it)",
            )
        order["items"] = [parse_item(text) for text in changes.items]
    if changes.displayed_total is not None:
        order["displayedTotal"] = changes.displayed_total
    if changes.token is not None:
        order["payment"] = {**order.get("payment", {"method": "card"}), "token": changes.token}
    if changes.variant is not None:
        order["siteVariant"] = changes.variant
    if changes.customer_id is not None or changes.email is not None:
        customer = dict(order.get("customer", {}))
        customer.update({k: v for k, v in (("id", changes.customer_id), ("email", changes.email)) if v is not None})
        order["customer"] = customer
    order_id = order.get("orderId")
    if not isinstance(order_id, str):
        raise UsageError("the order has no orderId", "add one with --order-id (it names the execution)")
    check_order_id(order_id)
    return order


# -- reading an order's state --------------------------------------------------------------------
@dataclass
class OrderState:
    order_id: str
    execution_arn: str
    status: str  # RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED
    started: datetime
    stopped: datetime | None
    states: list[str]
    error: str | None
    cause: str | None
    failed_at: str | None  # the state whose task failed first
    payment: dict[str, Any] | None
    input: Any = None
    output: Any = None

    @property
    def channel(self) -> str:
        return timeline.channel_of(self.input)

    @property
    def current_state(self) -> str | None:
        return self.states[-1] if self.status == "RUNNING" and self.states else None

    @property
    def waiting_for_review(self) -> bool:
        return self.status == "RUNNING" and self.payment is not None and waiting_review(self.payment) is not None

    @property
    def settled(self) -> bool:
        """Nothing will change without a person: it ended, or it waits for a reviewer."""
        return self.status != "RUNNING" or self.waiting_for_review


def _history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(
        executionArn=execution_arn, includeExecutionData=False
    ):
        events.extend(page["events"])
    return events


def failed_state(history: list[dict[str, Any]], error: str | None) -> str | None:
    """The state whose task failure ended the order: the last one that failed with the order's error,
    else the first failure (a timeout the workflow renames, e.g. Order.ReviewTimedOut)."""
    failures: list[tuple[str | None, str | None]] = []
    state = None
    for event in history:
        if "stateEnteredEventDetails" in event:
            state = event["stateEnteredEventDetails"]["name"]
        elif event["type"] != "ExecutionFailed" and event["type"].endswith(("Failed", "TimedOut")):
            details = next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})
            failures.append((state, details.get("error")))
    matching = [at for at, failed_with in failures if failed_with == error]
    if matching:
        return matching[-1]
    return failures[0][0] if failures else None


def read_order(stack: DeployedStack, order_id: str) -> OrderState:
    sfn = stack.client("stepfunctions")
    arn = stack.execution_arn(order_id)
    # The payment first: when it shows a stored review token, the history read after it already
    # holds WaitForPaymentReview (read the other way round, a fast order outruns the snapshot).
    payment = PaymentsTable(stack.table(stack.output(constants.OUTPUT_PAYMENTS_TABLE))).get(order_id)
    try:
        described = sfn.describe_execution(executionArn=arn)
    except ClientError as refused:
        if refused.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
            raise OrderctlError(
                f"no order {order_id!r}: the workflow has no execution of that name",
                "order ids are case-sensitive; start one with `orderctl start`",
            ) from None
        raise
    history = _history(sfn, arn)
    error, cause = described.get("error"), described.get("cause")
    if described["status"] == "FAILED" and not error:
        failed = next((e for e in history if e["type"] == "ExecutionFailed"), {})
        details = failed.get("executionFailedEventDetails", {})
        error, cause = details.get("error"), details.get("cause")
    return OrderState(
        order_id=order_id,
        execution_arn=arn,
        status=described["status"],
        started=described["startDate"],
        stopped=described.get("stopDate"),
        states=[e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e],
        error=error,
        cause=readable_cause(cause),
        failed_at=failed_state(history, error) if described["status"] == "FAILED" else None,
        payment=payment,
        input=json.loads(described["input"]) if described.get("input") else None,
        output=json.loads(described["output"]) if described.get("output") else None,
    )


def wait_until_settled(stack: DeployedStack, order_id: str, timeout: float) -> OrderState:
    deadline = time.monotonic() + timeout
    while True:
        state = read_order(stack, order_id)
        if state.settled:
            return state
        if time.monotonic() > deadline:
            raise OrderctlError(
                f"order {order_id} is still {state.status} in {state.current_state} after {timeout:g} s",
                f"follow it with `orderctl status {order_id}`",
            )
        time.sleep(POLL_SECONDS)


# -- commands ------------------------------------------------------------------------------------
def start(stack: DeployedStack, order: dict[str, Any], wait: float | None = None) -> render.Output:
    """Start the order; the same order started again is reported, not run twice."""
    order_id = order["orderId"]
    sfn = stack.client("stepfunctions")
    existing = _existing_execution(sfn, stack.execution_arn(order_id))
    started = False
    if existing is None:
        try:
            arn = sfn.start_execution(stateMachineArn=stack.state_machine_arn, name=order_id, input=json.dumps(order))[
                "executionArn"
            ]
            started = True
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
                raise
            existing = _existing_execution(sfn, stack.execution_arn(order_id))  # started meanwhile
    if existing is not None:
        # Step Functions would refuse the name once that execution ended, or with another input.
        if json.loads(existing.get("input") or "null") != order:
            raise OrderctlError(
                f"order {order_id} was already started with a different order",
                f"an order id names one order: see it with `orderctl status {order_id}`, "
                "or start this one under another --order-id",
            )
        arn = existing["executionArn"]
    headline = f"Started order {order_id}." if started else f"Order {order_id} was already started: not started again."
    if wait is not None:
        state = wait_until_settled(stack, order_id, wait)
        result = status_output(state, stack.now())
        data = {"started": started, **result.data}
        return render.Output(data, headline + "\n" + result.text, result.ok)
    text = "\n".join(
        [
            headline,
            render.fields([("execution", arn), ("follow", f"orderctl status {order_id}")]),
        ]
    )
    return render.Output({"started": started, "orderId": order_id, "executionArn": arn}, text)


def _existing_execution(sfn: Any, execution_arn: str) -> dict[str, Any] | None:
    try:
        return sfn.describe_execution(executionArn=execution_arn)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
            return None
        raise


def status(stack: DeployedStack, order_id: str) -> render.Output:
    return status_output(read_order(stack, order_id), stack.now())


def _summary(state: OrderState) -> str:
    if state.waiting_for_review:
        return "RUNNING: waiting for a payment review"
    if state.status == "RUNNING":
        return f"RUNNING: in {state.current_state}"
    if state.error:
        return f"{state.status} with {state.error}"
    return state.status


def status_output(state: OrderState, now: datetime | None = None) -> render.Output:
    """``now``: the account's time (``DeployedStack.now``: the sandbox has a clock of its own)."""
    now = now or datetime.now(UTC)
    pairs: list[tuple[str, str]] = [("channel", state.channel), ("started", render.when(state.started, now))]
    if state.stopped:
        took = render.duration((state.stopped - state.started).total_seconds())
        pairs.append(("ended", f"{render.when(state.stopped, now)}, took {took}"))
    pairs.append(("path", " -> ".join(state.states) or "-"))
    if state.error:
        pairs.append(("error", state.error + (f" (in {state.failed_at})" if state.failed_at else "")))
    if state.cause:
        pairs.append(("cause", state.cause))
    payment = state.payment
    if payment:
        text = f"{payment['status']}, {render.money(int(payment.get('amountCents', 0)), payment.get('currency', ''))}"
        review = waiting_review(payment)
        if review and state.status == "RUNNING":
            text += f", review requested {render.when(review.requested_at, now)}"
            if review.review_deadline:
                text += f", cancelled if undecided by {render.when(review.review_deadline, now)}"
        pairs.append(("payment", text))
    if state.waiting_for_review:
        pairs.append(
            (
                "decide",
                f'orderctl approve {state.order_id}  |  orderctl reject {state.order_id} --note "why"',
            )
        )
    pairs.append(("execution", state.execution_arn))
    text = f"Order {state.order_id}: {_summary(state)}\n" + render.fields(pairs)
    data = {
        "orderId": state.order_id,
        "status": state.status,
        "channel": state.channel,
        "waitingForReview": state.waiting_for_review,
        "currentState": state.current_state,
        "states": state.states,
        "error": state.error,
        "cause": state.cause,
        "failedAt": state.failed_at,
        "startDate": render.iso(state.started),
        "stopDate": render.iso(state.stopped),
        "payment": {k: v for k, v in (payment or {}).items() if k != "taskToken"} or None,
        "executionArn": state.execution_arn,
        "output": state.output,
    }
    return render.Output(data, text)
