"""replay and redrive against the sandbox server: a subscriber brought up to date."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sandbox.account import Sandbox
from tests.contract import samples
from tests.orderctl.conftest import Orderctl, OrderIds
from tests.sales import record_sale


def queue_depth(server: Sandbox, url: str) -> int:
    attributes = server.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def variant_orders(orderctl: Orderctl, variant: str) -> int:
    sales = orderctl.data("sales", "--baseline", variant)["variants"]
    return next((v["orders"] for v in sales if v["variant"] == variant), 0)


def deliveries_to(server: Sandbox, subscriber_output: str) -> int:
    function = server.outputs[subscriber_output]
    assert server.targets is not None
    return sum(d.function.endswith(f":{function}") for d in server.targets.deliveries)


@pytest.fixture
def analytics_queue(server: Sandbox) -> str:
    return server.outputs["AnalyticsSubscriberDeadLetterQueueUrl"]


def test_redrive_after_the_cause_is_fixed(
    orderctl: Orderctl, server: Sandbox, new_id: OrderIds, analytics_queue: str
) -> None:
    dynamodb = server.client("dynamodb")
    table = server.outputs["AnalyticsSubscriberTableName"]
    schema = dynamodb.describe_table(TableName=table)["Table"]
    dynamodb.delete_table(TableName=table)  # the analytics subscriber breaks: every delivery fails

    order_id = new_id("redrive")
    orderctl.ok("start", "--example", "happy", "--order-id", order_id, "--variant", "redrive-v", "--wait", "30")
    assert server.drain(30)
    assert queue_depth(server, analytics_queue) == 1  # Lambda retried twice, then its on-failure queue

    listed = orderctl.data("redrive", "analytics", "--dry-run")
    (message,) = listed["messages"]
    assert (message["orderId"], message["detailType"], message["outcome"]) == (order_id, "OrderCompleted", "waiting")
    assert "ResourceNotFoundException" in message["deadLetterReason"]
    assert queue_depth(server, analytics_queue) == 1  # a dry run changes nothing

    still_broken = orderctl("redrive", "analytics")
    assert still_broken.code == 1
    assert "still failing, left in the queue" in still_broken.out
    assert queue_depth(server, analytics_queue) == 1

    dynamodb.create_table(
        TableName=table,
        KeySchema=schema["KeySchema"],
        AttributeDefinitions=schema["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
    )
    fixed = orderctl.ok("redrive", "analytics")
    assert f"1 redriven to {server.outputs['AnalyticsSubscriberFunctionName']}." in fixed.out
    assert queue_depth(server, analytics_queue) == 0
    assert variant_orders(orderctl, "redrive-v") == 1
    assert "dead-letter queue is empty" in orderctl.ok("redrive", "analytics").out


def test_redrive_takes_eventbridge_dead_letters_and_leaves_what_still_fails(
    orderctl: Orderctl, server: Sandbox, new_id: OrderIds, analytics_queue: str
) -> None:
    sqs = server.client("sqs")
    today = datetime.fromtimestamp(server.clock.now(), UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    good = samples.order_completed(new_id("dlq"), site_variant="dlq-v", occurred_at=today)
    record_sale(server, good["detail"]["metadata"]["correlationId"])  # the poison copy names the same order
    poison = {**good, "detail": {**good["detail"], "data": {"orderId": "poison"}}}
    reasons = {"ERROR_CODE": "AccessDeniedException", "ERROR_MESSAGE": "not allowed to invoke"}
    attributes = {k: {"DataType": "String", "StringValue": v} for k, v in reasons.items()}
    for body in (good, poison):  # an EventBridge target dead letter: the event itself, why in attributes
        sqs.send_message(QueueUrl=analytics_queue, MessageBody=json.dumps(body), MessageAttributes=attributes)
    sqs.send_message(QueueUrl=analytics_queue, MessageBody="not json")

    run = orderctl("redrive", "analytics", "--json")
    assert run.code == 1
    by_outcome = {m["outcome"]: m for m in run.json["messages"]}
    assert sorted(by_outcome) == ["failed", "redriven", "unreadable"]
    assert by_outcome["redriven"]["orderId"] == good["detail"]["data"]["orderId"]
    assert by_outcome["redriven"]["deadLetterReason"] == "not allowed to invoke"
    assert by_outcome["failed"]["error"] == "KeyError: 'lines'"
    assert "still failing" in orderctl("redrive", "analytics", "--max", "1").out
    assert queue_depth(server, analytics_queue) == 2  # the poison and the unreadable one stay
    assert variant_orders(orderctl, "dlq-v") == 1

    limited = orderctl.data("redrive", "analytics", "--dry-run", "--max", "1")
    assert len(limited["messages"]) == 1
    sqs.purge_queue(QueueUrl=analytics_queue)


def test_redrive_names_the_subscribers_it_knows(orderctl: Orderctl) -> None:
    unknown = orderctl("redrive", "billing")
    assert unknown.code == 2
    assert "no subscriber named 'billing'" in unknown.err
    assert "analytics, audit" in unknown.err


def test_replay_sends_the_archived_window_to_one_rule(orderctl: Orderctl, server: Sandbox, new_id: OrderIds) -> None:
    order_id = new_id("replay")
    orderctl.ok("start", "--example", "happy", "--order-id", order_id, "--variant", "replay-v", "--wait", "30")
    assert server.drain(30)
    before = deliveries_to(server, "AnalyticsSubscriberFunctionName")

    replay = orderctl.data("replay", "analytics", "--from", "15m", "--wait", "10")
    assert replay["state"] == "COMPLETED"
    assert replay["ruleArn"] == server.outputs["AnalyticsSubscriberRuleArn"]
    described = server.client("events").describe_replay(ReplayName=replay["replayName"])
    assert described["Destination"] == {
        "Arn": server.outputs["EventBusArn"],
        "FilterArns": [server.outputs["AnalyticsSubscriberRuleArn"]],
    }
    assert described["EventSourceArn"] == server.outputs["EventArchiveArn"]
    assert server.drain(30)
    sent = deliveries_to(server, "AnalyticsSubscriberFunctionName") - before
    assert sent > 0  # the archived events came again
    assert replay["auditedEventsMatching"] == sent  # ... as many as orderctl counted (EventBridge reports none)
    assert variant_orders(orderctl, "replay-v") == 1  # ... and counted nothing twice


def test_replay_to_a_rule_named_on_the_bus_and_its_errors(orderctl: Orderctl, server: Sandbox) -> None:
    rule_name = server.outputs["AuditSubscriberRuleArn"].rsplit("/", 1)[-1]
    by_name = orderctl.data("replay", rule_name, "--from", "2026-01-01T00:00", "--wait", "10")
    assert by_name["ruleArn"] == server.outputs["AuditSubscriberRuleArn"]
    assert by_name["replayName"].startswith(f"orderctl-{rule_name}"[:48])

    unknown = orderctl("replay", "no-such-rule", "--from", "1h")
    assert unknown.code == 2
    assert "no rule 'no-such-rule' on the order bus" in unknown.err

    empty = orderctl("replay", "analytics", "--from", "1h", "--to", "2h")
    assert empty.code == 2
    assert "the window is empty" in empty.err

    not_a_time = orderctl("replay", "analytics", "--from", "yesterday")
    assert not_a_time.code == 2
    assert "'yesterday' is not a time" in not_a_time.err


def test_replay_and_sales_after_an_advance_count_from_the_sandbox_clock(
    orderctl: Orderctl, server: Sandbox, new_id: OrderIds
) -> None:
    """The events' times and days are on the sandbox's clock, and so are a replay's window and the sales' last day."""
    server.clock.advance(2 * 86_400)
    order_id = new_id("replay")
    orderctl.ok("start", "--example", "happy", "--order-id", order_id, "--variant", "replay-later", "--wait", "30")
    assert server.drain(30)
    assert variant_orders(orderctl, "replay-later") == 1  # counted on the sandbox's today
    before = deliveries_to(server, "AnalyticsSubscriberFunctionName")
    replay = orderctl.data("replay", "analytics", "--from", "15m", "--wait", "10")
    assert server.drain(30)
    assert deliveries_to(server, "AnalyticsSubscriberFunctionName") - before == replay["auditedEventsMatching"] > 0
