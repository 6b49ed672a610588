"""Apply a reviewer's decision to an order waiting on WaitForPaymentReview, atomically enough that a
crash at any point leaves a state the reviewer's retry completes, with a true message.

A decision is three writes, in this order:

1. **record** it on the payments item: REVIEW_PENDING -> REVIEW_APPROVED | REVIEW_REJECTED with the
   reviewer, decidedAt, note and ``callbackDelivered: false``, conditional on the status and on the
   task token read (the token stays): the first decision wins, any other is refused by name;
2. **answer** the task token (SendTaskSuccess / SendTaskFailure) with the *recorded* decision;
3. **mark it delivered**: ``callbackDelivered: true``, the token removed.

A retry that finds the decision recorded but not delivered answers the token again (2, 3). When
Step Functions no longer accepts the token, the order's execution history says why: the recorded
decision reached it (an earlier attempt died after answering: 3 completes it), or the task timed
out / the execution ended first (the record is withdrawn, nothing changed). A look before
step 1 keeps a decision that arrives after the timeout from writing anything at all: the execution
history is read first, and a task that no longer waits is refused before any write.
Every refusal is a ReviewDecisionError whose message tells the reviewer what happened.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, NamedTuple

from lambdas.decide_payment_review import identity
from lambdas.shared import constants
from lambdas.shared import payment_status as status
from lambdas.shared.clock import iso
from lambdas.shared.errors import ReviewDecisionError
from lambdas.shared.observability import logger
from lambdas.shared.payment_inputs import Fields
from lambdas.shared.payment_status import ReviewTask, StaleTaskToken
from lambdas.shared.text import clean_text

APPROVED: Final = "APPROVED"
REJECTED: Final = "REJECTED"
_DECISIONS: Final = {"approve": APPROVED, "approved": APPROVED, "reject": REJECTED, "rejected": REJECTED}
_RECORDED_STATUS: Final = {APPROVED: status.REVIEW_APPROVED, REJECTED: status.REVIEW_REJECTED}
_DECISION_OF: Final = {v: k for k, v in _RECORDED_STATUS.items()}
_VERB: Final = {APPROVED: "approved", REJECTED: "rejected"}
# The decision's fields on the payments item (withdrawn with it when it never reached the order).
DELIVERED: Final = status.CALLBACK_DELIVERED
_DECISION_FIELDS: Final = ("reviewer", "reviewerArn", "decidedAt", "reviewNote", DELIVERED)
_LABEL = "Review decision"
_MAX_NOTE = 1000
# Bounds of what is stored and published (the note goes into the order's failure cause and events).
MAX_NOTE_STORED: Final = 1000
MAX_REVIEWER: Final = 128
# Lost races (another reviewer, the workflow) tolerated before giving up; each re-reads the item.
_ATTEMPTS: Final = 3


class Decision(NamedTuple):
    order_id: str
    decision: str  # APPROVED | REJECTED
    reviewer: str  # who the caller was verified to be (a Cognito user, an IAM user or role session)
    note: str | None = None
    reviewer_arn: str | None = None  # the verified IAM caller, on the console path


class Request(NamedTuple):
    """A console decision before its reviewer is known: the reviewer is whoever signed ``proof``."""

    order_id: str
    decision: str
    note: str | None
    proof: object

    @property
    def bound_to(self) -> str:
        return identity.binding(self.order_id, self.decision, self.note)

    def by(self, reviewer: identity.Reviewer) -> Decision:
        return Decision(self.order_id, self.decision, reviewer.name, self.note, reviewer.arn)


def parse(event: object) -> Request:
    """{orderId, decision, note?, identityProof}: a payload naming its own reviewer is refused."""
    fields = Fields(event, ReviewDecisionError, _LABEL)
    if isinstance(event, Mapping) and "reviewer" in event:
        raise ReviewDecisionError(
            f"{_LABEL}: field 'reviewer' is not accepted: the reviewer is whoever signed 'identityProof'."
        )
    raw = fields.text("decision")
    decision = _DECISIONS.get(raw.strip().lower())
    if decision is None:
        raise ReviewDecisionError(f"{_LABEL}: field 'decision' must be 'approve' or 'reject', got {raw!r}")
    return Request(
        order_id=fields.order_id(),
        decision=decision,
        note=fields.optional_text("note", max_length=_MAX_NOTE),  # as signed; decide() normalises it
        proof=event.get("identityProof") if isinstance(event, Mapping) else None,
    )


def reviewer(request: Request, verify: Callable[[dict[str, str]], str], allowed: Sequence[str]) -> Decision:
    """The request as decided by its verified signer (ReviewDecisionError when unproved or not a reviewer)."""
    headers = identity.forwarded_headers(request.proof, request.bound_to)
    return request.by(identity.reviewer_of(verify(headers), allowed))


def normalised(decision: Decision) -> Decision:
    """Reviewer and note as they may be stored and published: no control, bidi or markup characters, bounded."""
    name = clean_text(decision.reviewer, MAX_REVIEWER)
    if not name:
        raise ReviewDecisionError(f"{_LABEL}: the reviewer's name is empty once control characters are removed.")
    return decision._replace(reviewer=name, note=clean_text(decision.note, MAX_NOTE_STORED))


def decide(
    decision: Decision, payments: status.PaymentStore, callbacks: status.ReviewTaskCallbacks, now: datetime
) -> dict[str, Any]:
    """Record, answer, mark delivered. Returns {orderId, decision, reviewer, decidedAt, message}, where
    reviewer is whoever made the recorded decision (a retry completes it in their name)."""
    decision = normalised(decision)
    order_id = decision.order_id
    for _ in range(_ATTEMPTS):
        item = payments.get(order_id)
        if item is None:
            raise ReviewDecisionError(f"No payment found for order {order_id!r}: check the order id.")
        state = item["status"]
        if state == status.REVIEW_PENDING:
            token = item.get("taskToken")
            if not token:
                raise ReviewDecisionError(
                    f"Order {order_id} is about to wait for review but the workflow has not parked it yet; "
                    "try again in a few seconds."
                )
            task = callbacks.review_task(order_id)
            if task is not None and (task.state != status.TASK_WAITING or task.execution_status != "RUNNING"):
                # The task is over (timed out, answered, execution ended): refuse before writing anything.
                raise ReviewDecisionError(
                    f"Order {order_id} is no longer waiting for this review: {_task_story(item, task)}. "
                    "Nothing was changed."
                )
            recorded = _record(decision, item, payments, now)
            if recorded is None:
                continue  # another decision (or the workflow) moved first: look again
            return _deliver(recorded, payments, callbacks, now, fresh=True)
        if state in _DECISION_OF:
            if _DECISION_OF[state] != decision.decision:
                raise ReviewDecisionError(
                    f"Order {order_id} was already {_decided(item)}; a decision cannot be changed."
                )
            if item.get(DELIVERED) is False and item.get("taskToken"):
                return _deliver(item, payments, callbacks, now, fresh=False)
            raise ReviewDecisionError(
                f"Order {order_id} was already {_decided(item)}; the decision reached the order: "
                f"{_consequence(_DECISION_OF[state])} Nothing was changed."
            )
        raise ReviewDecisionError(_settled(order_id, item, callbacks))
    raise ReviewDecisionError(f"The payment of order {order_id} kept changing while deciding; try again.")


def _record(
    decision: Decision, item: dict[str, Any], payments: status.PaymentStore, now: datetime
) -> dict[str, Any] | None:
    values: dict[str, Any] = {
        "status": _RECORDED_STATUS[decision.decision],
        "reviewer": decision.reviewer,
        "decidedAt": iso(now),
        DELIVERED: False,
    }
    if decision.note:
        values["reviewNote"] = decision.note
    if decision.reviewer_arn:
        values["reviewerArn"] = decision.reviewer_arn
    if not payments.update(decision.order_id, status.REVIEW_PENDING, values, expected={"taskToken": item["taskToken"]}):
        return None
    return {**item, **values}


def _deliver(
    item: dict[str, Any],
    payments: status.PaymentStore,
    callbacks: status.ReviewTaskCallbacks,
    now: datetime,
    fresh: bool,
) -> dict[str, Any]:
    """Answer the token with the recorded decision, then mark it delivered."""
    order_id, recorded = item["orderId"], _DECISION_OF[item["status"]]
    token = str(item["taskToken"])
    try:
        if recorded == APPROVED:
            callbacks.succeed(token, json.dumps({"decision": APPROVED, "reviewer": item["reviewer"]}))
        else:
            callbacks.fail(token, constants.ERROR_REVIEW_REJECTED, rejection_cause(item))
    except StaleTaskToken as stale:
        task = callbacks.review_task(order_id)
        if task is None or not _reached(task, recorded):
            raise ReviewDecisionError(_undelivered(item, stale, task, payments, fresh)) from None
        logger.info("review decision had reached the order before an interruption", extra={"orderId": order_id})
    _mark_delivered(item, payments, now)
    return {
        "orderId": order_id,
        "decision": recorded,
        "reviewer": item["reviewer"],
        "decidedAt": item["decidedAt"],
        "message": f"Order {order_id}: {_decided(item)}; {_consequence(recorded)}",
    }


def _reached(task: ReviewTask, recorded: str) -> bool:
    """Did the review task end with this decision? (Only a decision ends it in success or ReviewRejected.)"""
    if recorded == APPROVED:
        return task.state == status.TASK_SUCCEEDED
    return task.state == status.TASK_FAILED and task.error == constants.ERROR_REVIEW_REJECTED


def _mark_delivered(item: dict[str, Any], payments: status.PaymentStore, now: datetime) -> None:
    if not payments.update(
        item["orderId"],
        item["status"],
        {DELIVERED: True, "deliveredAt": iso(now)},
        remove=("taskToken",),
        expected={"decidedAt": item["decidedAt"]},
    ):
        # The order moved on at once (a rejection fails it and its compensation voids the payment,
        # removing the token): the decision did take effect, and the compensation's status is truer.
        logger.info("review decision delivered; the payment has already moved on", extra={"orderId": item["orderId"]})


def _undelivered(
    item: dict[str, Any], stale: StaleTaskToken, task: ReviewTask | None, payments: status.PaymentStore, fresh: bool
) -> str:
    """The recorded decision cannot reach the order (and never did): withdraw it, say why."""
    order_id = item["orderId"]
    if task is None:
        # Without the execution nobody can tell whether an earlier attempt answered: keep the record.
        return (
            f"Order {order_id} was {_decided(item)}, but Step Functions no longer accepts its task token "
            f"({stale.code}) and the order's execution cannot be found, so whether the decision reached the "
            "order is unknown; the record is kept. Check: python -m orderctl status " + order_id
        )
    withdrawn = payments.update(
        order_id,
        item["status"],
        {"status": status.REVIEW_PENDING},
        remove=tuple(f for f in _DECISION_FIELDS if f in item),
        expected={"decidedAt": item["decidedAt"], DELIVERED: False},
    )
    logger.info("review decision never reached the order", extra={"orderId": order_id, "withdrawn": withdrawn})
    story = _task_story(item, task)
    if fresh:
        return f"Order {order_id} is no longer waiting for this review: {story}. Nothing was changed."
    return (
        f"Order {order_id} is no longer waiting for this review: {story}. The decision recorded earlier "
        f"({_decided(item)}) never reached the order and was withdrawn."
    )


def _task_story(item: dict[str, Any], task: ReviewTask | None) -> str:
    """What became of the review task, as the execution recorded it."""
    if task is None:
        return "its execution cannot be found"
    if task.state == status.TASK_TIMED_OUT:
        return (
            f"the review timed out (deadline {item.get('reviewDeadline', 'unknown')}), so the workflow "
            "cancels the order and voids its payment"
        )
    if task.state == status.TASK_SUCCEEDED:
        return "an approval already resumed it"
    if task.state == status.TASK_FAILED and task.error == constants.ERROR_REVIEW_REJECTED:
        return "a rejection already ended it"
    if task.state == status.TASK_FAILED:
        return f"its review task failed ({task.error})"
    if task.execution_status != "RUNNING":
        return f"its execution ended ({task.execution_status}) before any decision reached it"
    return "it now waits on a newer review request; try again in a few seconds"


def _settled(order_id: str, item: dict[str, Any], callbacks: status.ReviewTaskCallbacks) -> str:
    """Why a payment that is neither pending nor decided cannot be decided on."""
    state = item["status"]
    text = f"Order {order_id} is not waiting for a payment review: its payment is {state}"
    origin = item.get("voidedFrom")
    if state == status.VOIDED and origin in _DECISION_OF and item.get("reviewer"):
        return f"{text}: it was {_decided(item, _DECISION_OF[origin])}, and the workflow then voided the payment."
    if state == status.REFUNDED and item.get("reviewer"):
        return f"{text}: it was {_decided(item, APPROVED)}, and the workflow later refunded the payment."
    if state == status.VOIDED and origin == status.REVIEW_PENDING:
        return f"{text}: {_task_story(item, callbacks.review_task(order_id))}."
    return text + "."


def _decided(item: dict[str, Any], decision: str | None = None) -> str:
    verb = _VERB[decision or _DECISION_OF[item["status"]]]
    return f"{verb} by {item.get('reviewer', 'another reviewer')} at {item.get('decidedAt', 'an unknown time')}"


def _consequence(decision: str) -> str:
    if decision == APPROVED:
        return "the order continues."
    return f"the order fails ({constants.ERROR_REVIEW_REJECTED}) and the workflow voids its payment."


def rejection_cause(item: dict[str, Any]) -> str:
    """The cause a rejection fails the order with (the recorded reviewer and note)."""
    cause = f"Payment review rejected by {item['reviewer']}"
    note = item.get("reviewNote")
    return f"{cause}: {note}" if note else f"{cause}."
