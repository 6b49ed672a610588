"""reviews, approve, reject: a payment review from start to decision, and every refusal."""

from __future__ import annotations

import re
import time
from datetime import datetime

from infra import review_monitor
from infra.config import DEFAULT_REVIEW_TIMEOUT_SECONDS
from lambdas.shared import constants
from sandbox.account import Sandbox
from sandbox.clock import Clock
from tests.orderctl.conftest import Orderctl, OrderIds
from tests.orderctl.support import settle, waiting_ids


def start_review(orderctl: Orderctl, order_id: str) -> dict:
    started = orderctl.data("start", "--example", "review", "--order-id", order_id, "--wait", "30")
    assert started["started"] is True
    assert started["status"] == "RUNNING"
    assert started["waitingForReview"] is True
    assert started["currentState"] == "WaitForPaymentReview"
    return started


def test_a_review_from_start_to_approve(orderctl: Orderctl, new_id: OrderIds) -> None:
    order_id = new_id("review")
    start_review(orderctl, order_id)

    (review,) = [r for r in orderctl.data("reviews") if r["orderId"] == order_id]
    assert (review["amountCents"], review["currency"], review["customerId"]) == (15456, "EUR", "cust-1002")
    assert 0 <= review["waitedSeconds"] < 60
    assert review["secondsLeft"] > 71 * 3600  # the default review timeout is 72 h
    listing = orderctl.ok("reviews").out
    assert "oldest first" in listing
    assert order_id in listing
    assert "154.56 EUR" in listing

    decided = orderctl.ok("approve", order_id, "--reviewer", "alice", "--note", "called the customer")
    assert f"Approved the payment of order {order_id} (reviewer alice)." in decided.out
    assert "approved by alice" in decided.out and "the order continues" in decided.out

    final = settle(orderctl, order_id)
    assert final["status"] == "SUCCEEDED"
    assert final["states"][-3:] == ["NotifyWarehouse", "RecordAccounting", "PublishOrderCompleted"]
    assert final["payment"]["status"] == "REVIEW_APPROVED"
    assert final["payment"]["reviewer"] == "alice"
    assert "taskToken" not in final["payment"]
    assert final["payment"]["callbackDelivered"] is True
    assert order_id not in waiting_ids(orderctl)
    assert "SUCCEEDED" in orderctl.ok("status", order_id).out


def test_reviews_are_listed_oldest_first_with_how_long_they_waited(orderctl: Orderctl, new_id: OrderIds) -> None:
    older, newer = new_id("review"), new_id("review")
    start_review(orderctl, older)
    start_review(orderctl, newer)
    listed = [r for r in orderctl.data("reviews") if r["orderId"] in (older, newer)]
    assert [r["orderId"] for r in listed] == [older, newer]
    assert listed[0]["requestedAt"] <= listed[1]["requestedAt"]
    for order_id in (older, newer):
        rejected = orderctl.ok("reject", order_id, "--reviewer", "bob").out
        assert f"Rejected the payment of order {order_id} (reviewer bob)." in rejected
        assert "rejected by bob" in rejected and "Order.ReviewRejected" in rejected
        assert "continues" not in rejected  # a rejected order does not continue


def test_reject_with_a_note_fails_the_order_with_the_note_as_cause(orderctl: Orderctl, new_id: OrderIds) -> None:
    order_id = new_id("review")
    start_review(orderctl, order_id)
    rejected = orderctl.ok("reject", order_id, "--reviewer", "bob", "--note", "card reported stolen", "--wait", "30")
    assert f"Rejected the payment of order {order_id} (reviewer bob)." in rejected.out
    assert "FAILED with Order.ReviewRejected" in rejected.out
    status = orderctl.data("status", order_id)
    assert status["error"] == "Order.ReviewRejected"
    assert "card reported stolen" in status["cause"]
    assert status["payment"]["status"] == "VOIDED"  # compensated: nothing was settled


def test_a_decision_is_final(orderctl: Orderctl, new_id: OrderIds) -> None:
    order_id = new_id("review")
    start_review(orderctl, order_id)
    orderctl.ok("approve", order_id, "--reviewer", "alice", "--wait", "30")
    again = orderctl("reject", order_id, "--reviewer", "mallory")
    assert again.code == 1
    assert f"Order {order_id} was already approved by alice" in again.err
    assert settle(orderctl, order_id)["status"] == "SUCCEEDED"


def test_deciding_an_order_that_does_not_wait_is_refused(orderctl: Orderctl, new_id: OrderIds) -> None:
    unknown = orderctl("approve", "no-such-order")
    assert unknown.code == 1
    assert "the decision was refused: No payment found for order 'no-such-order'" in unknown.err

    happy = new_id("happy")
    orderctl.ok("start", "--example", "happy", "--order-id", happy, "--wait", "30")
    not_waiting = orderctl("approve", happy)
    assert not_waiting.code == 1
    assert f"Order {happy} is not waiting for a payment review: its payment is APPROVED." in not_waiting.err

    invalid = orderctl("approve", "not an id")
    assert invalid.code == 2
    assert "'not an id' is not an order id" in invalid.err


def test_reviews_and_status_read_the_sandbox_clock(orderctl: Orderctl, server: Sandbox, new_id: OrderIds) -> None:
    order_id = new_id("clock")
    start_review(orderctl, order_id)
    # A day passes in the sandbox (the review timeout is 72 h).
    server.clock.advance(24 * 3600)
    (review,) = [r for r in orderctl.data("reviews") if r["orderId"] == order_id]
    assert 24 * 3600 <= review["waitedSeconds"] < 24 * 3600 + 120
    assert 48 * 3600 - 120 < review["secondsLeft"] <= 48 * 3600
    listing = orderctl.ok("reviews").out
    assert re.search(rf"{order_id}\s+1 d\s", listing), listing
    assert "(in 1 d 23 h)" in orderctl.ok("status", order_id).out
    orderctl.ok("reject", order_id, "--reviewer", "bob")


def test_a_review_requested_after_an_advance_times_out_at_its_stored_deadline(
    orderctl: Orderctl, server: Sandbox, new_id: OrderIds
) -> None:
    """The functions stamp times on the sandbox's clock, as orderctl and the workflow's timeout read it: a review
    requested after the clock moved on has waited nothing, has the whole timeout left, and times out when its
    stored deadline passes (not when the wall clock's would)."""
    server.clock.advance(DEFAULT_REVIEW_TIMEOUT_SECONDS)  # as `POST /_sandbox/clock/advance` (waiting reviews time out)
    order_id = new_id("review")
    start_review(orderctl, order_id)
    (review,) = [r for r in orderctl.data("reviews") if r["orderId"] == order_id]
    assert 0 <= review["waitedSeconds"] < 60
    assert DEFAULT_REVIEW_TIMEOUT_SECONDS - 60 < review["secondsLeft"] <= DEFAULT_REVIEW_TIMEOUT_SECONDS
    line = re.search(rf"^{order_id}\s.*$", orderctl.ok("reviews").out, re.MULTILINE)
    assert line and re.fullmatch(rf"{order_id}\s+\d+ s\s+154.56 EUR\s+2 d 23 h\s+cust-1002", line[0]), line

    deadline = datetime.fromisoformat(review["reviewDeadline"].replace("Z", "+00:00")).timestamp()
    server.clock.advance(deadline - server.clock.now() - 60)  # a minute before the stored deadline
    time.sleep(10 * Clock.POLL_SECONDS)  # the sandbox checks its deadlines every POLL_SECONDS
    status = orderctl.data("status", order_id)
    assert (status["status"], status["currentState"]) == ("RUNNING", "WaitForPaymentReview")
    server.clock.advance(120)  # a minute after it
    assert settle(orderctl, order_id)["error"] == "Order.ReviewTimedOut"


def test_a_review_nobody_decides_times_out_and_can_no_longer_be_approved(
    orderctl: Orderctl, server: Sandbox, new_id: OrderIds
) -> None:
    order_id = new_id("review")
    start_review(orderctl, order_id)
    server.clock.advance(72 * 3600 + 60)  # the review timeout passes (other waiting reviews time out too)
    final = settle(orderctl, order_id)
    assert final["error"] == "Order.ReviewTimedOut"
    assert final["cause"] == "No payment review decision within 72 h."  # not "within 259200 seconds"
    assert order_id not in waiting_ids(orderctl)
    late = orderctl("approve", order_id, "--reviewer", "alice")
    assert late.code == 1
    assert f"Order {order_id} is not waiting for a payment review: its payment is VOIDED" in late.err


def test_the_deployed_review_monitor_counts_what_reviews_lists(
    orderctl: Orderctl, server: Sandbox, new_id: OrderIds
) -> None:
    """The scheduled function (invoked here through the Lambda API) and `orderctl reviews` agree."""
    order_id = new_id("review")
    start_review(orderctl, order_id)
    listed = orderctl.data("reviews")
    report, error = server.invoke(review_monitor.REVIEW_MONITOR_HANDLER, {"source": "aws.events"})
    assert error is None, report
    assert report[constants.METRIC_REVIEWS_WAITING] == len(listed) >= 1
    assert report["oldestOrderId"] == listed[0]["orderId"]
    assert report[constants.METRIC_OLDEST_REVIEW_WAIT] >= listed[0]["waitedSeconds"] - 1  # both: the sandbox's clock
    orderctl.ok("reject", order_id, "--reviewer", "bob")
