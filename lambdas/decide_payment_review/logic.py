"""Apply a reviewer's decision to an order waiting on WaitForPaymentReview.

Step Functions is told first, and the decision is recorded only once it accepted the token:
a stale token (the review timed out and the order was compensated) must change nothing.
Every refusal is a ReviewDecisionError whose message tells the reviewer what happened.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from lambdas.shared import constants
from lambdas.shared.adapters import payments as status
from lambdas.shared.adapters.payments import StaleTaskToken
from lambdas.shared.errors import ReviewDecisionError
from lambdas.shared.observability import logger
from lambdas.shared.payment_inputs import Fields, iso

if TYPE_CHECKING:
    from lambdas.shared.adapters.payments import PaymentsTable, ReviewCallbacks

APPROVED: Final = "APPROVED"
REJECTED: Final = "REJECTED"
_DECISIONS: Final = {"approve": APPROVED, "approved": APPROVED, "reject": REJECTED, "rejected": REJECTED}
_RECORDED_STATUS: Final = {APPROVED: status.REVIEW_APPROVED, REJECTED: status.REVIEW_REJECTED}
_LABEL = "Review decision"
_MAX_NOTE = 1000


@dataclass(frozen=True)
class Decision:
    order_id: str
    decision: str  # APPROVED | REJECTED
    reviewer: str
    note: str | None = None


def parse(event: object) -> Decision:
    fields = Fields(event, ReviewDecisionError, _LABEL)
    raw = fields.text("decision")
    decision = _DECISIONS.get(raw.strip().lower())
    if decision is None:
        raise ReviewDecisionError(f"{_LABEL}: field 'decision' must be 'approve' or 'reject', got {raw!r}")
    return Decision(
        order_id=fields.order_id(),
        decision=decision,
        reviewer=fields.text("reviewer").strip(),
        note=_strip(fields.optional_text("note", max_length=_MAX_NOTE)),
    )


def _strip(text: str | None) -> str | None:
    return text.strip() if text else None


def decide(decision: Decision, payments: PaymentsTable, callbacks: ReviewCallbacks, now: datetime) -> dict[str, Any]:
    """Resume the waiting execution, then record the decision. Returns {orderId, decision, reviewer}."""
    item = _waiting(decision.order_id, payments.get(decision.order_id))
    token = str(item["taskToken"])
    try:
        if decision.decision == APPROVED:
            callbacks.succeed(token, json.dumps({"decision": APPROVED, "reviewer": decision.reviewer}))
        else:
            callbacks.fail(token, constants.ERROR_REVIEW_REJECTED, rejection_cause(decision))
    except StaleTaskToken as stale:
        # Maybe another reviewer was faster; otherwise the wait is over. Either way nothing changes.
        _waiting(decision.order_id, payments.get(decision.order_id))
        raise ReviewDecisionError(
            f"Order {decision.order_id} is no longer waiting for this review ({stale.code}): the review timed "
            f"out (deadline {item.get('reviewDeadline', 'unknown')}) or the order ended, and the workflow "
            "compensates its payment. Nothing was changed."
        ) from None

    values: dict[str, Any] = {
        "status": _RECORDED_STATUS[decision.decision],
        "reviewer": decision.reviewer,
        "decidedAt": iso(now),
    }
    if decision.note:
        values["reviewNote"] = decision.note
    if not payments.update(decision.order_id, status.REVIEW_PENDING, values, remove=("taskToken",)):
        # The execution resumed and already compensated (e.g. a rejection voided the payment):
        # its status is the truer record, so it is kept; the decision itself did take effect.
        logger.warning("review decision applied but not recorded: payment status moved on")
    return {"orderId": decision.order_id, "decision": decision.decision, "reviewer": decision.reviewer}


def rejection_cause(decision: Decision) -> str:
    cause = f"Payment review rejected by {decision.reviewer}"
    return f"{cause}: {decision.note}" if decision.note else f"{cause}."


def _waiting(order_id: str, item: dict[str, Any] | None) -> dict[str, Any]:
    """The payment item if it waits for review with a token, else a ReviewDecisionError saying why not."""
    if item is None:
        raise ReviewDecisionError(f"No payment found for order {order_id!r}: check the order id.")
    state = item["status"]
    if state in (status.REVIEW_APPROVED, status.REVIEW_REJECTED):
        verb = "approved" if state == status.REVIEW_APPROVED else "rejected"
        raise ReviewDecisionError(
            f"Order {order_id} was already {verb} by {item.get('reviewer', 'another reviewer')} "
            f"at {item.get('decidedAt', 'an unknown time')}; a decision cannot be changed."
        )
    if state != status.REVIEW_PENDING:
        raise ReviewDecisionError(
            f"Order {order_id} is not waiting for a payment review: its payment is {state}"
            + (" (the review timed out or the order failed, so it was voided)." if state == status.VOIDED else ".")
        )
    if not item.get("taskToken"):
        raise ReviewDecisionError(
            f"Order {order_id} is about to wait for review but the workflow has not parked it yet; "
            "try again in a few seconds."
        )
    return item
