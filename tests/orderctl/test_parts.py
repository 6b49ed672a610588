"""orderctl's parts that need no AWS: rendering, times, dead-letter parsing, order overrides, naming."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from orderctl import events, orders, render
from orderctl.errors import OrderctlError
from orderctl.stack import DeployedStack

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (42, "42 s"), (125, "2 min 5 s"), (7500, "2 h 5 min"), (3 * 86400 + 4 * 3600 + 59, "3 d 4 h")],
)
def test_durations_show_the_two_largest_units(seconds: float, text: str) -> None:
    assert render.duration(seconds) == text


def test_times_say_how_long_ago_or_ahead() -> None:
    assert render.when(NOW - timedelta(minutes=5), NOW) == "2026-11-22 11:55:00 UTC (5 min ago)"
    assert render.when(NOW + timedelta(hours=3), NOW) == "2026-11-22 15:00:00 UTC (in 3 h)"
    assert render.when(None, NOW) == "-"


def test_tables_align_their_columns() -> None:
    assert render.table(("A", "LONGER"), [("xyz", 1), ("x", 22)]).splitlines() == ["A    LONGER", "xyz  1", "x    22"]


def test_output_exit_codes_and_json() -> None:
    import io

    stream = io.StringIO()
    assert render.Output({"a": NOW}, "text", ok=False).emit(stream, as_json=True) == 1
    assert json.loads(stream.getvalue()) == {"a": "2026-11-22 12:00:00+00:00"}


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("30m", NOW - timedelta(minutes=30)),
        ("6h", NOW - timedelta(hours=6)),
        ("2d", NOW - timedelta(days=2)),
        ("2026-11-20", datetime(2026, 11, 20, tzinfo=UTC)),
        ("2026-11-20T14:30", datetime(2026, 11, 20, 14, 30, tzinfo=UTC)),
        ("2026-11-20T14:30:00Z", datetime(2026, 11, 20, 14, 30, tzinfo=UTC)),
        ("2026-11-20T14:30:00+01:00", datetime(2026, 11, 20, 13, 30, tzinfo=UTC)),
    ],
)
def test_replay_times_are_iso_or_an_age(text: str, moment: datetime) -> None:
    assert events.parse_moment(text, NOW) == moment


def message(body: Any, **attributes: str) -> dict[str, Any]:
    return {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": body if isinstance(body, str) else json.dumps(body),
        "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    }


EVENT = {"detail-type": "OrderCompleted", "detail": {"metadata": {"correlationId": "ord-7"}, "data": {}}}


def test_a_lambda_on_failure_record_yields_the_original_event_and_the_error() -> None:
    record = {
        "version": "1.0",
        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": EVENT,
        "responsePayload": {"errorType": "KeyError", "errorMessage": "'lines'"},
    }
    letter = events.dead_letter(message(record))
    assert (letter.event, letter.order_id, letter.detail_type) == (EVENT, "ord-7", "OrderCompleted")
    assert letter.why == "KeyError: 'lines'"


def test_an_eventbridge_dead_letter_is_the_event_with_the_reason_in_attributes() -> None:
    letter = events.dead_letter(message(EVENT, ERROR_CODE="AccessDenied", ERROR_MESSAGE="may not invoke"))
    assert (letter.event, letter.why) == (EVENT, "may not invoke")


def test_an_unreadable_dead_letter_has_no_event() -> None:
    letter = events.dead_letter(message("<xml/>"))
    assert (letter.event, letter.order_id, letter.why) == (None, "?", "unknown")


def test_overrides_change_only_what_they_name() -> None:
    base = orders.load_order(None, "happy")
    built = orders.build_order(
        base, orders.Overrides(order_id="ord-9", token="tok_review_x", variant="b", email="x@example.com")
    )
    assert built["orderId"] == "ord-9"
    assert built["payment"] == {"method": "card", "token": "tok_review_x"}
    assert built["customer"] == {**base["customer"], "email": "x@example.com"}
    assert built["items"] == base["items"] and built["displayedTotal"] == base["displayedTotal"]
    assert base["orderId"] == "ord-1001"  # the example itself is untouched

    items = orders.build_order(base, orders.Overrides(items=["TEE-ORGANIC-M=2", "MUG-BLUE=1"], displayed_total=9.5))
    assert items["items"] == [{"sku": "TEE-ORGANIC-M", "quantity": 2}, {"sku": "MUG-BLUE", "quantity": 1}]
    assert items["displayedTotal"] == 9.5
    with pytest.raises(OrderctlError, match="write SKU=QUANTITY"):
        orders.build_order(base, orders.Overrides(items=["MUG-BLUE=0"], displayed_total=1))
    with pytest.raises(OrderctlError, match="has no orderId"):
        orders.build_order({}, orders.Overrides())


def test_the_failed_step_is_the_one_that_failed_with_the_orders_error() -> None:
    def entered(name: str) -> dict[str, Any]:
        return {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": name}}

    def failed(error: str, kind: str = "TaskFailed") -> dict[str, Any]:
        return {"type": kind, "taskFailedEventDetails": {"error": error, "cause": "..."}}

    history = [
        entered("ReserveStock"),
        failed("Lambda.ServiceException"),  # retried, then it worked
        entered("CollectPayment"),
        failed("Order.PaymentDeclined"),
        entered("RefundPayment"),
        failed("Lambda.TooManyRequestsException"),  # a compensation retry
        {"type": "ExecutionFailed", "executionFailedEventDetails": {"error": "Order.PaymentDeclined"}},
    ]
    assert orders.failed_state(history, "Order.PaymentDeclined") == "CollectPayment"
    timed_out = [entered("WaitForPaymentReview"), failed("States.Timeout", "TaskTimedOut"), entered("ReviewTimedOut")]
    assert orders.failed_state(timed_out, "Order.ReviewTimedOut") == "WaitForPaymentReview"
    assert orders.failed_state([], "Order.Invalid") is None


def test_a_lambda_cause_shows_its_message() -> None:
    cause = json.dumps({"errorType": "Order.OutOfStock", "errorMessage": "MUG-BLUE: 2 requested, 0 available"})
    assert orders.readable_cause(cause) == "MUG-BLUE: 2 requested, 0 available"
    assert orders.readable_cause("plain words") == "plain words"


def test_subscriber_names_come_from_the_stack_outputs() -> None:
    outputs = {
        "FailureStatsSubscriberFunctionName": "f1",
        "FailureStatsSubscriberDeadLetterQueueUrl": "https://sqs/q",
        "AuditSubscriberFunctionName": "f2",
        "StateMachineArn": "arn:aws:states:eu-west-1:1:stateMachine:orders",
    }
    stack = DeployedStack("OrderProcessing", outputs, boto3.Session(region_name="eu-west-1"))
    assert stack.subscribers() == ["audit", "failure_stats"]
    assert stack.subscriber_output("failure_stats", "DeadLetterQueueUrl") == "https://sqs/q"
    assert stack.execution_arn("ord-1") == "arn:aws:states:eu-west-1:1:execution:orders:ord-1"
    with pytest.raises(OrderctlError, match="has no output AuditSubscriberDeadLetterQueueUrl"):
        stack.subscriber_output("audit", "DeadLetterQueueUrl")


def test_the_sandbox_needs_no_profile_but_aws_keeps_yours(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from orderctl.stack import SANDBOX_DEFAULT_REGION, client_session
    from sandbox.account import DEFAULT_REGION

    assert SANDBOX_DEFAULT_REGION == DEFAULT_REGION
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    local = client_session(None, None, "http://127.0.0.1:5000")
    assert local.region_name == DEFAULT_REGION
    assert local.get_credentials().access_key == "sandbox"
    remote = client_session(None, None, "https://states.eu-west-1.amazonaws.com")
    assert remote.get_credentials() is None and remote.region_name is None
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "mine")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert client_session(None, "us-east-1", "http://localhost:5000").get_credentials().access_key == "mine"
