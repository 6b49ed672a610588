"""EventBridge fixes (sandbox/moto_fixes/eventbridge.py): moto is still broken without each, and it works."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sandbox.account import ACCOUNT_ID, Sandbox
from sandbox.moto_fixes import suspended
from tests.sandbox.moto_fixes.support import (
    create_function,
    function_arn,
)


def _rule_to(sandbox: Sandbox, target_arn: str, state: str = "ENABLED") -> str:
    events = sandbox.client("events")
    rule = f"rule-{uuid.uuid4().hex[:8]}"
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["fix"]}), State=state)
    events.put_targets(Rule=rule, Targets=[{"Id": "t", "Arn": target_arn}])
    return rule


def _permit(sandbox: Sandbox, function: str) -> None:
    sandbox.client("lambda").add_permission(
        FunctionName=function, StatementId="events", Action="lambda:InvokeFunction", Principal="events.amazonaws.com"
    )


def _put(sandbox: Sandbox) -> None:
    sandbox.client("events").put_events(Entries=[{"Source": "fix", "DetailType": "T", "Detail": '{"k": 1}'}])
    sandbox.drain()


def test_events_lambda_targets_without_fix(account: Sandbox) -> None:
    _rule_to(account, function_arn(create_function(account, "echo")))
    with suspended("events-lambda-targets"), pytest.raises(NotImplementedError):
        _put(account)


def test_events_disabled_rules_without_fix(account: Sandbox) -> None:
    queue = account.client("sqs").create_queue(QueueName="fix-disabled")["QueueUrl"]
    _rule_to(account, f"arn:aws:sqs:eu-west-1:{ACCOUNT_ID}:fix-disabled", state="DISABLED")
    with suspended("events-lambda-targets"):
        _put(account)
    assert account.client("sqs").receive_message(QueueUrl=queue).get("Messages"), "moto delivered to a DISABLED rule"


def test_events_lambda_targets_with_fix(account: Sandbox) -> None:
    function = create_function(account, "echo")
    _permit(account, function)
    _rule_to(account, function_arn(function))
    queue = account.client("sqs").create_queue(QueueName="fix-disabled-2")["QueueUrl"]
    _rule_to(account, f"arn:aws:sqs:eu-west-1:{ACCOUNT_ID}:fix-disabled-2", state="DISABLED")
    _put(account)
    delivered = [d for d in account.targets.deliveries if d.function.endswith(function)]
    assert [d.outcome for d in delivered] == ["SUCCEEDED"]
    assert delivered[0].results[0]["event"]["detail"] == {"k": 1}
    assert not account.client("sqs").receive_message(QueueUrl=queue).get("Messages")


def test_events_without_permission_go_to_the_target_dead_letter_queue(account: Sandbox) -> None:
    function = create_function(account, "echo")  # no AWS::Lambda::Permission for events.amazonaws.com
    queue = account.client("sqs").create_queue(QueueName="fix-target-dlq")["QueueUrl"]
    events = account.client("events")
    events.put_rule(Name="unpermitted", EventPattern=json.dumps({"source": ["fix"]}))
    dlq = {"Arn": f"arn:aws:sqs:eu-west-1:{ACCOUNT_ID}:fix-target-dlq"}
    target = {
        "Id": "t",
        "Arn": function_arn(function),
        "DeadLetterConfig": dlq,
        "RetryPolicy": {"MaximumRetryAttempts": 2},
    }
    events.put_targets(Rule="unpermitted", Targets=[target])
    _put(account)
    [delivery] = [d for d in account.targets.deliveries if d.function.endswith(function)]
    assert (delivery.outcome, delivery.attempts) == ("UNDELIVERABLE", 3)
    message = account.client("sqs").receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"][0]
    assert message["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "AccessDeniedException"


# --- Replay --------------------------------------------------------------------------------------
def _archived_bus(sandbox: Sandbox) -> dict[str, Any]:
    """A bus with an archive, a rule to a Lambda function and one to a queue, and two archived events:
    one an hour old, one now. The original deliveries are drained."""
    events, sqs = sandbox.client("events"), sandbox.client("sqs")
    name = f"replay-{uuid.uuid4().hex[:8]}"
    bus_arn = events.create_event_bus(Name=name)["EventBusArn"]
    archive_arn = events.create_archive(ArchiveName=name, EventSourceArn=bus_arn)["ArchiveArn"]
    function = create_function(sandbox, "echo")
    _permit(sandbox, function)
    pattern = json.dumps({"source": ["fix"]})
    to_function = events.put_rule(Name=f"{name}-fn", EventBusName=name, EventPattern=pattern)["RuleArn"]
    events.put_targets(Rule=f"{name}-fn", EventBusName=name, Targets=[{"Id": "f", "Arn": function_arn(function)}])
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    events.put_rule(Name=f"{name}-q", EventBusName=name, EventPattern=pattern)
    queue_arn = f"arn:aws:sqs:eu-west-1:{ACCOUNT_ID}:{name}"
    events.put_targets(Rule=f"{name}-q", EventBusName=name, Targets=[{"Id": "q", "Arn": queue_arn}])
    now = datetime.now(UTC)
    for when, which in ((now - timedelta(hours=1), "old"), (now, "new")):
        entry = {"Source": "fix", "DetailType": "T", "Detail": json.dumps({"which": which}), "EventBusName": name}
        events.put_events(Entries=[{**entry, "Time": when}])
    sandbox.drain()
    while sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        pass
    window = {"EventStartTime": now - timedelta(minutes=5), "EventEndTime": now + timedelta(minutes=5)}
    replay = {"EventSourceArn": archive_arn, "Destination": {"Arn": bus_arn, "FilterArns": [to_function]}, **window}
    return {"replay": replay, "queue": queue, "function": function}


def _replayed(sandbox: Sandbox, setup: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Start the replay; (what the function received, what the queue received) from it."""
    sandbox.client("events").start_replay(ReplayName=f"r-{uuid.uuid4().hex[:8]}", **setup["replay"])
    sandbox.drain()
    events = [
        d.results[0]["event"]
        for d in sandbox.targets.deliveries
        if d.function.endswith(setup["function"]) and d.outcome == "SUCCEEDED"
    ]
    messages = sandbox.client("sqs").receive_message(QueueUrl=setup["queue"], MaxNumberOfMessages=10)
    queued = [json.loads(m["Body"]) for m in messages.get("Messages", [])]
    return (
        [e["detail"]["which"] for e in events if "replay-name" in e],
        [e["detail"]["which"] for e in queued if "replay-name" in e],
    )


def test_replay_filter_without_fix(account: Sandbox) -> None:
    setup = _archived_bus(account)
    with suspended("events-replay-filter"):
        to_function, to_queue = _replayed(account, setup)
    assert sorted(to_function) == ["new", "old"]  # outside the window too
    assert sorted(to_queue) == ["new", "old"]  # a rule not in FilterArns


def test_replay_filter_with_fix(account: Sandbox) -> None:
    to_function, to_queue = _replayed(account, _archived_bus(account))
    assert (to_function, to_queue) == (["new"], [])


def _account_on_a_queue(account: Sandbox, name: str) -> Any:
    queue = account.client("sqs").create_queue(QueueName=name)["QueueUrl"]
    _rule_to(account, f"arn:aws:sqs:eu-west-1:{ACCOUNT_ID}:{name}")
    _put(account)
    (message,) = account.client("sqs").receive_message(QueueUrl=queue)["Messages"]
    return json.loads(message["Body"]).get("account")


def test_events_target_account_without_fix(account: Sandbox) -> None:
    with suspended("events-target-account"):
        assert _account_on_a_queue(account, "fix-account-1") is None


def test_events_target_account_with_fix(account: Sandbox) -> None:
    assert _account_on_a_queue(account, "fix-account-2") == ACCOUNT_ID


def _order_event(detail_type: str) -> str:
    return json.dumps(
        {
            "id": str(uuid.uuid4()),
            "source": "com.example.orders",
            "detail-type": detail_type,
            "time": "2026-11-26T12:00:00Z",
            "region": "eu-west-1",
            "account": ACCOUNT_ID,
            "resources": [],
            "detail": {"data": {"orderId": "o-1", "total": 12}},
        }
    )


COMPLETED_OVER_TEN = json.dumps(
    {"detail-type": ["OrderCompleted"], "detail": {"data": {"total": [{"numeric": [">", 10]}]}}}
)


def test_test_event_pattern_without_fix(account: Sandbox) -> None:
    with suspended("events-test-event-pattern"):
        answer = account.client("events").test_event_pattern(
            EventPattern=COMPLETED_OVER_TEN, Event=_order_event("OrderCompleted")
        )
    assert "Result" not in answer  # moto answers nothing: botocore reads no Result


def test_test_event_pattern_with_fix(account: Sandbox) -> None:
    events = account.client("events")
    assert events.test_event_pattern(EventPattern=COMPLETED_OVER_TEN, Event=_order_event("OrderCompleted"))["Result"]
    assert not events.test_event_pattern(EventPattern=COMPLETED_OVER_TEN, Event=_order_event("OrderFailed"))["Result"]
    no_account = json.loads(_order_event("OrderCompleted"))
    del no_account["account"]
    with pytest.raises(events.exceptions.ClientError, match="ValidationException"):
        events.test_event_pattern(EventPattern=COMPLETED_OVER_TEN, Event=json.dumps(no_account))


def _time_on_a_queue(account: Sandbox, name: str) -> tuple[float, float]:
    """The sandbox's time before an event is put (its clock a day ahead), and the event's time."""
    account.clock.advance(timedelta(days=1).total_seconds())
    before = account.clock.now()
    queue = account.client("sqs").create_queue(QueueName=name)["QueueUrl"]
    _rule_to(account, f"arn:aws:sqs:eu-west-1:{ACCOUNT_ID}:{name}")
    _put(account)
    (message,) = account.client("sqs").receive_message(QueueUrl=queue)["Messages"]
    return before, datetime.fromisoformat(json.loads(message["Body"])["time"].replace("Z", "+00:00")).timestamp()


def test_events_clock_time_without_fix(account: Sandbox) -> None:
    with suspended("events-clock-time"):
        before, at = _time_on_a_queue(account, "fix-time-1")
    assert at < before - 3600  # the wall clock's


def test_events_clock_time_with_fix(account: Sandbox) -> None:
    before, at = _time_on_a_queue(account, "fix-time-2")
    assert before - 1 <= at <= account.clock.now() + 1  # to the second, as EventBridge writes it
