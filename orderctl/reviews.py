"""reviews, approve, reject: the payment reviewer's side.

A decision goes through the deployed review-decision Lambda, exactly as a reviewer invokes it from
the Lambda console, so the same validation applies and its refusals read the same.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from lambdas.decide_payment_review.client import reviewer_role_arn, signed_decision
from lambdas.review_monitor.logic import WaitingReview, waiting_reviews
from lambdas.shared import constants
from lambdas.shared.adapters.executions import running_order_ids
from lambdas.shared.adapters.payments import PaymentsTable
from lambdas.shared.errors import ReviewDecisionError
from orderctl import render
from orderctl.errors import OrderctlError
from orderctl.orders import status_output, wait_until_settled
from orderctl.stack import DeployedStack, check_order_id

_DECIDE_HINT = 'decide with `orderctl approve <orderId>` or `orderctl reject <orderId> --note "why"`'


def find_waiting(stack: DeployedStack) -> list[WaitingReview]:
    """The same reading as the review monitor's (see lambdas/review_monitor/logic.py), oldest first."""
    payments = PaymentsTable(stack.table(stack.output(constants.OUTPUT_PAYMENTS_TABLE)))
    return waiting_reviews(running_order_ids(stack.client("stepfunctions"), stack.state_machine_arn), payments.get_many)


def reviews(stack: DeployedStack, now: datetime | None = None) -> render.Output:
    """``now``: the account's time by default (the sandbox's clock in the sandbox)."""
    now = now or stack.now()
    waiting = find_waiting(stack)
    data = [
        {
            "orderId": r.order_id,
            "customerId": r.customer_id,
            "amountCents": r.amount_cents,
            "currency": r.currency,
            "requestedAt": render.iso(r.requested_at),
            "reviewDeadline": render.iso(r.review_deadline),
            "waitedSeconds": round(r.waited_seconds(now)),
            "secondsLeft": round((r.review_deadline - now).total_seconds()) if r.review_deadline else None,
        }
        for r in waiting
    ]
    if not waiting:
        return render.Output(data, "No order waits for a payment review.")
    rows = [
        (
            r.order_id,
            render.duration(r.waited_seconds(now)),
            render.money(r.amount_cents, r.currency),
            render.duration((r.review_deadline - now).total_seconds()) if r.review_deadline else "-",
            r.customer_id or "-",
        )
        for r in waiting
    ]
    noun = "order waits" if len(waiting) == 1 else "orders wait"
    text = "\n".join(
        [
            f"{len(waiting)} {noun} for a payment review, oldest first:",
            render.table(("ORDER", "WAITING", "AMOUNT", "TIME LEFT", "CUSTOMER"), rows),
            "",
            _DECIDE_HINT[0].upper() + _DECIDE_HINT[1:] + ".",
        ]
    )
    return render.Output(data, text)


def decide(
    stack: DeployedStack,
    order_id: str,
    decision: str,
    reviewer: str,
    note: str | None = None,
    wait: float | None = None,
) -> render.Output:
    """Invoke the review-decision function with a decision signed by the reviewer's own credentials: a
    session of the stack's reviewer role named ``reviewer`` (your IAM user name), or, without one, the
    credentials orderctl runs with (a principal the stack names as a reviewer)."""
    function = stack.output(constants.OUTPUT_REVIEW_FUNCTION)
    try:
        role = reviewer_role_arn(stack.client("lambda"), function)
        payload = signed_decision(
            stack.client("sts"),
            stack.session.get_credentials(),
            role,
            check_order_id(order_id),
            decision,
            reviewer,
            note,
        )
        response = stack.client("lambda").invoke(FunctionName=function, Payload=json.dumps(payload).encode())
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            raise OrderctlError(
                f"the review decision function {function} does not exist", "redeploy the stack"
            ) from None
        raise
    body = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        raise OrderctlError(f"the decision was refused: {_function_error(body)}", "list what waits: orderctl reviews")
    verb = "Approved" if body["decision"] == "APPROVED" else "Rejected"
    headline = f"{verb} the payment of order {order_id} (reviewer {body['reviewer']})."
    if wait is not None:
        result = status_output(wait_until_settled(stack, order_id, wait), stack.now())
        return render.Output({"decision": body, **result.data}, headline + "\n" + result.text, result.ok)
    # The decision function's own account (an approval continues the order, a rejection fails it).
    follow = f"{body['message']} See: orderctl status {order_id}"
    return render.Output({"decision": body}, f"{headline}\n{follow}")


def _function_error(body: Any) -> str:
    """The reviewer-facing message of a ReviewDecisionError; other errors keep their type."""
    if not isinstance(body, dict):
        return str(body)
    message = str(body.get("errorMessage", body))
    error_type = body.get("errorType", "")
    return message if error_type in ("", ReviewDecisionError.__name__) else f"{error_type}: {message}"
