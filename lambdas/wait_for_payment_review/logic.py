"""Park an order for manual payment review.

The execution is paused on a task token (``.waitForTaskToken``) until a reviewer decides or
the review timeout passes. The token is stored on the payments item first, so that by the time
anyone hears of the review (PaymentReviewRequested) the decision function can find it. A retry
of this task brings a new token: the latest one is stored, because only it resumes the execution.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple

from lambdas.shared import constants
from lambdas.shared import payment_status as status
from lambdas.shared.clock import iso
from lambdas.shared.errors import InvalidOrder
from lambdas.shared.payment_inputs import Fields

PRODUCER: Final = "payments"
_LABEL = "WaitForPaymentReview input"
# A Step Functions task token is at most 1024 characters.
_MAX_TOKEN = 1024

# publish(detail_type, data, correlation_id, producer), as lambdas.shared.adapters.event_bus.publish.
Publish = Callable[[str, dict[str, Any], str, str], None]


class NotAwaitingReview(Exception):
    """The order's payment is not REVIEW_PENDING, so there is nothing to review."""


class ReviewRequest(NamedTuple):
    order_id: str
    customer_id: str
    channel: str  # web, marketplace:<name> or store:<name>: the channel travels on every event of the order
    amount_cents: int
    currency: str
    task_token: str
    timeout_seconds: int


def parse(event: object) -> ReviewRequest:
    fields = Fields(event, InvalidOrder, _LABEL)
    return ReviewRequest(
        order_id=fields.order_id(),
        customer_id=fields.text("customerId"),
        channel=fields.text("channel", constants.CHANNEL_PATTERN),
        amount_cents=fields.integer("amountCents", minimum=1),
        currency=fields.currency(),
        task_token=fields.text("taskToken", max_length=_MAX_TOKEN),
        timeout_seconds=fields.integer("timeoutSeconds", minimum=1),
    )


def request_review(
    request: ReviewRequest, payments: status.PaymentStore, publish: Publish, now: datetime
) -> dict[str, Any]:
    """Store the token and deadline, then announce the review. Returns {orderId, reviewDeadline}."""
    deadline = iso(now + timedelta(seconds=request.timeout_seconds))
    stored = payments.update(
        request.order_id,
        status.REVIEW_PENDING,
        {"taskToken": request.task_token, "reviewDeadline": deadline, "requestedAt": iso(now)},
    )
    if not stored:
        item = payments.get(request.order_id)
        found = f"its payment is {item['status']}" if item else "it has no payment"
        raise NotAwaitingReview(f"Order {request.order_id} cannot wait for a payment review: {found}.")
    # Published on every attempt: a retry may follow a failed publish, and subscribers are idempotent.
    publish(
        constants.EVENT_PAYMENT_REVIEW_REQUESTED,
        {
            "orderId": request.order_id,
            "customerId": request.customer_id,
            "channel": request.channel,
            "amountCents": request.amount_cents,
            "currency": request.currency,
            "reviewDeadline": deadline,
        },
        request.order_id,
        PRODUCER,
    )
    return {"orderId": request.order_id, "reviewDeadline": deadline}
