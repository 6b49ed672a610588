"""EventBridge -> subscriber delivery in the deployed wiring: retries, dead letters, disabled rules.

Events are put on the bus the way another producer (or a replay) would; nothing here knows which
subscriber listens to what: the rules in the template decide.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from lambdas.shared import constants
from lambdas.shared.events import envelope, put_events_entry
from sandbox.account import Sandbox

pytestmark = pytest.mark.e2e


def _publish(sandbox: Sandbox, detail_type: str, data: dict[str, Any]) -> str:
    correlation_id = f"test-{uuid.uuid4().hex[:12]}"
    detail = envelope(data, correlation_id, "e2e-test")
    entry = put_events_entry(sandbox.outputs["EventBusName"], detail_type, detail)
    response = sandbox.client("events").put_events(Entries=[entry])
    assert response["FailedEntryCount"] == 0
    sandbox.drain()
    return correlation_id


def _deliveries(sandbox: Sandbox, correlation_id: str) -> list[Any]:
    return [d for d in sandbox.targets.deliveries if d.correlation_id == correlation_id]


def _dead_letter_payloads(sandbox: Sandbox, queue_arn: str) -> list[dict[str, Any]]:
    sqs = sandbox.client("sqs")
    url = sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[-1])["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_a_subscriber_that_keeps_failing_ends_in_its_dead_letter_queue(sandbox: Sandbox) -> None:
    # An OrderCompleted without its data: every OrderCompleted subscriber that reads the data fails.
    correlation_id = _publish(sandbox, constants.EVENT_ORDER_COMPLETED, {})
    failed = [d for d in _deliveries(sandbox, correlation_id) if d.outcome == "FAILED"]
    assert failed, "some subscriber must reject an OrderCompleted without data"
    for delivery in failed:
        # Lambda ran it once and retried it per the function's async config, then gave up.
        configuration = sandbox.client("lambda").get_function_event_invoke_config(FunctionName=delivery.function)
        assert delivery.attempts == 1 + configuration["MaximumRetryAttempts"]
        assert delivery.dead_letter == configuration["DestinationConfig"]["OnFailure"]["Destination"]
        payloads = _dead_letter_payloads(sandbox, delivery.dead_letter)
        mine = [p for p in payloads if p["requestPayload"]["detail"]["metadata"]["correlationId"] == correlation_id]
        assert mine and mine[0]["requestContext"]["condition"] == "RetriesExhausted"
    retries = [s for s in sandbox.clock.sleeps() if s.kind == "delivery-retry"]
    assert len(retries) >= len(failed), "Lambda's retry back-off was recorded, not slept"


def test_a_disabled_rule_delivers_nothing(sandbox: Sandbox) -> None:
    events = sandbox.client("events")
    bus = sandbox.outputs["EventBusName"]
    rules = events.list_rules(EventBusName=bus)["Rules"]
    audit = next(r for r in rules if "Audit" in r["Name"])
    baseline = _publish(sandbox, constants.EVENT_ORDER_FAILED, {"orderId": "x", "customerId": "c", "error": "E"})
    audit_function = {d.function for d in _deliveries(sandbox, baseline) if d.rule == audit["Name"]}
    assert audit_function, "audit receives OrderFailed while its rule is enabled"
    events.disable_rule(Name=audit["Name"], EventBusName=bus)
    try:
        correlation_id = _publish(sandbox, constants.EVENT_ORDER_FAILED, {"orderId": "y", "customerId": "c"})
    finally:
        events.enable_rule(Name=audit["Name"], EventBusName=bus)
    rules_reached = {d.rule for d in _deliveries(sandbox, correlation_id)}
    assert audit["Name"] not in rules_reached
    assert rules_reached, "the other OrderFailed subscribers still receive it"


def test_an_event_from_another_source_reaches_no_subscriber(sandbox: Sandbox) -> None:
    entry = put_events_entry(sandbox.outputs["EventBusName"], constants.EVENT_ORDER_COMPLETED, {"data": {}})
    entry["Source"] = "com.example.someone-else"
    before = len(sandbox.targets.deliveries)
    sandbox.client("events").put_events(Entries=[entry])
    sandbox.drain()
    assert len(sandbox.targets.deliveries) == before
