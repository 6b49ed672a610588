"""Which orders wait for a payment reviewer, and for how long.

Why running executions and not the payments table: a scan of the payments table reads every
order the shop ever took, to find the few that wait (its cost grows forever); a sparse index would
add an index to a table every payment function writes (and to each of their grants). The running
executions of the workflow are exactly the orders in flight, a small set whatever the history, and
one BatchGetItem per hundred of them says which are parked on WaitForPaymentReview: payment
REVIEW_PENDING with a stored task token (wait_for_payment_review stores it, the decision and the
compensation remove it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, NamedTuple

from lambdas.shared import constants
from lambdas.shared import payment_status as status
from lambdas.shared.events import parse_time


class WaitingReview(NamedTuple):
    order_id: str
    requested_at: datetime
    review_deadline: datetime | None
    amount_cents: int
    currency: str
    customer_id: str | None

    def waited_seconds(self, now: datetime) -> float:
        return max(0.0, (now - self.requested_at).total_seconds())


def waiting_review(item: dict[str, Any]) -> WaitingReview | None:
    """The review an order's payment item waits for, or None when nobody can decide on it now."""
    if item.get("status") != status.REVIEW_PENDING or not item.get("taskToken") or not item.get("requestedAt"):
        return None
    deadline = item.get("reviewDeadline")
    return WaitingReview(
        order_id=str(item["orderId"]),
        requested_at=parse_time(str(item["requestedAt"])),
        review_deadline=parse_time(str(deadline)) if deadline else None,
        amount_cents=int(item.get("amountCents", 0)),
        currency=str(item.get("currency", "")),
        customer_id=item.get("customerId"),
    )


def waiting_reviews(
    running_order_ids: Iterable[str], payments_of: Callable[[list[str]], dict[str, dict[str, Any]]]
) -> list[WaitingReview]:
    """Of the running orders, those waiting for a reviewer, oldest request first.

    ``payments_of`` is PaymentsTable.get_many (order ids -> payment items).
    """
    items = payments_of(list(running_order_ids))
    reviews = [review for item in items.values() if (review := waiting_review(item)) is not None]
    return sorted(reviews, key=lambda review: (review.requested_at, review.order_id))


def review_metrics(reviews: list[WaitingReview], now: datetime) -> dict[str, float]:
    """What the monitor reports: both values every run (0 when nobody waits), so missing data
    means the monitor itself stopped, which the alarm treats as breaching."""
    return {
        constants.METRIC_REVIEWS_WAITING: float(len(reviews)),
        constants.METRIC_OLDEST_REVIEW_WAIT: max((r.waited_seconds(now) for r in reviews), default=0.0),
    }
