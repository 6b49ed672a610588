"""EventBridge -> subscriber delivery in the deployed wiring: retries, dead letters, disabled rules.

Events are put on the bus the way another producer (or a replay) would; nothing here knows which
subscriber listens to what: the rules in the template decide.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from lambdas.shared import constants
from lambdas.shared.events import envelope, put_events_entry
from lambdas.subscribers.notifications import handler as notifications_handler
from lambdas.subscribers.notifications import store as notifications
from sandbox.account import Sandbox
from sandbox.faults import Fault, FaultInjector, Kind
from tests.contract import samples
from tests.sales import record_sale

pytestmark = pytest.mark.e2e

ORDER_COMPLETED_SUBSCRIBERS = ("inventory", "analytics", "audit", "notifications")
DAY = "2026-11-20"  # when this module's orders happened (their counters are per day)


def _publish(
    sandbox: Sandbox,
    detail_type: str,
    data: dict[str, Any],
    correlation_id: str | None = None,
    occurred_at: str | None = None,
) -> str:
    correlation_id = correlation_id or f"test-{uuid.uuid4().hex[:12]}"
    if detail_type == constants.EVENT_ORDER_COMPLETED:
        record_sale(sandbox, correlation_id)  # as the workflow does before it publishes
    detail = envelope(data, correlation_id, "e2e-test", occurred_at)
    entry = put_events_entry(sandbox.outputs["EventBusName"], detail_type, detail)
    response = sandbox.client("events").put_events(Entries=[entry])
    assert response["FailedEntryCount"] == 0
    sandbox.drain()
    return correlation_id


def _deliveries(sandbox: Sandbox, correlation_id: str) -> list[Any]:
    return [d for d in sandbox.targets.deliveries if d.correlation_id == correlation_id]


def _event_of(payload: dict[str, Any]) -> dict[str, Any]:
    """The event in a dead-letter message: a Lambda on-failure record's requestPayload, or the message itself
    (an EventBridge target DLQ, or a buffer queue's redrive)."""
    return payload["requestPayload"] if "requestContext" in payload else payload


def _buffer_of(sandbox: Sandbox, function_arn: str) -> Any | None:
    """The queue mapping that feeds a buffered subscriber's function (infra/subscribers.py), or None."""
    assert sandbox.queues is not None
    found = [m for m in sandbox.queues.mappings if m.function_arn == function_arn]
    return found[0] if found else None


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
        payloads = _dead_letter_payloads(sandbox, delivery.dead_letter)
        mine = [p for p in payloads if _event_of(p)["detail"]["metadata"]["correlationId"] == correlation_id]
        buffer = _buffer_of(sandbox, delivery.function)
        if buffer is not None:
            # Received from its queue maxReceiveCount times, visibility timeouts apart; then the queue's redrive.
            assert delivery.attempts == buffer.max_receive_count and delivery.dead_letter == buffer.dead_letter_arn
            assert mine
            continue
        # Lambda ran it once and retried it per the function's async config, then gave up.
        configuration = sandbox.client("lambda").get_function_event_invoke_config(FunctionName=delivery.function)
        assert delivery.attempts == 1 + configuration["MaximumRetryAttempts"]
        assert delivery.dead_letter == configuration["DestinationConfig"]["OnFailure"]["Destination"]
        assert mine and mine[0]["requestContext"]["condition"] == "RetriesExhausted"
    retries = [s for s in sandbox.clock.sleeps() if s.kind in ("delivery-retry", "queue-visibility")]
    assert retries, "the retries' back-off and the queue's visibility timeouts were skipped and recorded, not slept"


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


# --- No event vanishes (issue 10, finding 4) -------------------------------------------------------------
def _order_id() -> str:
    return f"e2e-{uuid.uuid4().hex[:12]}"


def _publish_order(sandbox: Sandbox, detail_type: str, data: dict[str, Any]) -> None:
    _publish(sandbox, detail_type, data, data["orderId"], f"{DAY}T10:15:30.123Z")


def _completed_data(order_id: str) -> dict[str, Any]:
    """A well-formed OrderCompleted for a new order, its own e-mail address and site variant."""
    return samples.order_completed(order_id, email=f"{order_id}@example.com", site_variant=order_id)["detail"]["data"]


def _delivery(
    sandbox: Sandbox, correlation_id: str, subscriber: str, detail_type: str = constants.EVENT_ORDER_COMPLETED
) -> Any:
    """The one delivery of `detail_type` to `subscriber` (notifications also hears logistics' ShipmentAssigned)."""
    rule_prefix = "".join(part.capitalize() for part in subscriber.split("_"))
    (delivery,) = [
        d for d in _deliveries(sandbox, correlation_id) if rule_prefix in d.rule and d.detail_type == detail_type
    ]
    return delivery


def _dead_lettered(sandbox: Sandbox, delivery: Any, correlation_id: str) -> list[dict[str, Any]]:
    """The messages of this event in the delivery's dead-letter queue (read from the queue's backend, so
    other tests' messages and visibility timeouts do not matter)."""
    from moto.sqs.models import sqs_backends
    from moto.utilities.arns import parse_arn

    arn = parse_arn(delivery.dead_letter)
    queue = sqs_backends[arn.account][arn.region].queues[arn.resource_id]
    payloads = [json.loads(message.body) for message in queue.messages]
    return [p for p in payloads if _event_of(p)["detail"]["metadata"]["correlationId"] == correlation_id]


def _emails_to(sandbox: Sandbox, address: str) -> list[Any]:
    """Confirmation e-mails to `address` (the tracking e-mail on ShipmentAssigned is another reaction)."""
    from moto.ses.models import ses_backends

    account = sandbox.client("sts").get_caller_identity()["Account"]
    sent = ses_backends[account][sandbox.region].sent_messages
    return [
        m
        for m in sent
        if address in m.destinations.get("ToAddresses", []) and getattr(m, "subject", "").endswith(" is confirmed")
    ]


def _table(sandbox: Sandbox, subscriber: str) -> Any:
    name = sandbox.outputs["".join(p.capitalize() for p in subscriber.split("_")) + "SubscriberTableName"]
    return sandbox.resource("dynamodb").Table(name)


def _item(sandbox: Sandbox, subscriber: str, pk: str, sk: str) -> dict[str, Any] | None:
    return _table(sandbox, subscriber).get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")


def _retries(sandbox: Sandbox, function: str) -> int:
    configuration = sandbox.client("lambda").get_function_event_invoke_config(FunctionName=function)
    return int(configuration["MaximumRetryAttempts"])


@pytest.fixture
def injector(sandbox: Sandbox) -> Iterator[FaultInjector]:
    """Faults for this test's invocations only (the package's sandbox runs without them otherwise)."""
    assert sandbox.invocation_hook is None
    sandbox.invocation_hook = injector = FaultInjector()
    try:
        yield injector
    finally:
        sandbox.invocation_hook = None


def test_a_malformed_order_completed_reaches_the_notifications_dead_letter_queue_with_nothing_claimed(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    order_id = _order_id()
    data = _completed_data(order_id)
    del data["customer"]["email"]
    _publish_order(sandbox, constants.EVENT_ORDER_COMPLETED, data)
    delivery = _delivery(sandbox, order_id, "notifications")
    assert delivery.outcome == "FAILED", f"notifications absorbed a malformed event: {delivery.results}"
    buffer = _buffer_of(sandbox, delivery.function)
    assert delivery.attempts == (buffer.max_receive_count if buffer else 1 + _retries(sandbox, delivery.function))
    assert any("InvalidEvent" in error and "detail.data.customer.email" in error for error in _errors(delivery, caplog))
    assert _dead_lettered(sandbox, delivery, order_id)
    assert _item(sandbox, "notifications", f"ORDER#{order_id}", "CONFIRMATION") is None


def _errors(delivery: Any, caplog: pytest.LogCaptureFixture) -> list[str]:
    """What failed the delivery: its error, and for a buffered subscriber what the function logged per message
    (the queue's answer names the message only; pytest's log capture keeps the function's records)."""
    return [delivery.error or "", *(str(getattr(record, "error", "")) for record in caplog.records)]


@pytest.fixture
def no_holder_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each of the queue's receives would first wait for the claim's holder (real seconds): not these tests' point."""
    monkeypatch.setattr(notifications_handler, "HOLDER_WAIT_SECONDS", 0.0)


@pytest.mark.usefixtures("no_holder_wait")
def test_a_send_claim_left_by_a_killed_run_sends_the_event_to_the_dead_letter_queue(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    order_id = _order_id()
    now = int(sandbox.clock.now())  # the functions read the sandbox clock (an earlier test may have advanced it)
    # A run that claimed the order and was killed (its function timeout) before recording anything.
    _table(sandbox, "notifications").put_item(
        Item={
            "pk": f"ORDER#{order_id}",
            "sk": "CONFIRMATION",
            "status": notifications.SENDING,
            "leaseUntil": now + constants.NOTIFICATION_LEASE_SECONDS,
            "expiresAt": now + 86_400,
            "owner": "killed-run",
        }
    )
    _publish_order(sandbox, constants.EVENT_ORDER_COMPLETED, _completed_data(order_id))
    delivery = _delivery(sandbox, order_id, "notifications")
    assert delivery.outcome == "FAILED", "a retry that finds a live claim must not report success"
    assert any("ConfirmationInProgress" in error for error in _errors(delivery, caplog))
    assert _dead_lettered(sandbox, delivery, order_id)
    assert _emails_to(sandbox, f"{order_id}@example.com") == []


@pytest.mark.usefixtures("no_holder_wait")
def test_notifications_crashing_after_ses_took_the_message_sends_one_email_and_dead_letters_the_event(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_id = _order_id()
    real_mark_sent = notifications.mark_sent

    def lost(table_name: str, claimed_order: str, *args: Any, **kwargs: Any) -> None:
        if claimed_order == order_id:
            raise ConnectionError("DynamoDB unreachable after SES took the message")
        real_mark_sent(table_name, claimed_order, *args, **kwargs)

    monkeypatch.setattr(notifications, "mark_sent", lost)
    _publish_order(sandbox, constants.EVENT_ORDER_COMPLETED, _completed_data(order_id))
    delivery = _delivery(sandbox, order_id, "notifications")
    assert delivery.outcome == "FAILED" and _dead_lettered(sandbox, delivery, order_id)
    assert len(_emails_to(sandbox, f"{order_id}@example.com")) == 1


def _heard_by(subscriber: str) -> str:
    return constants.EVENT_ORDER_FAILED if subscriber == "failure_stats" else constants.EVENT_ORDER_COMPLETED


def _publish_heard_event(sandbox: Sandbox, subscriber: str, order_id: str) -> None:
    """Put the order's event this subscriber hears on the bus: OrderFailed for failure_stats, else OrderCompleted."""
    if _heard_by(subscriber) == constants.EVENT_ORDER_FAILED:
        data = {"orderId": order_id, "customerId": "c-1", "error": order_id, "cause": "test"}
        _publish_order(sandbox, constants.EVENT_ORDER_FAILED, data)
    else:
        _publish_order(sandbox, constants.EVENT_ORDER_COMPLETED, _completed_data(order_id))


def _applied_once(sandbox: Sandbox, subscriber: str, order_id: str) -> None:
    """The subscriber's effect of this order is there, once."""
    if subscriber == "inventory":
        marker = _item(sandbox, "inventory", f"ORDER#{order_id}", "SALES")
        assert marker is not None and marker["status"] == "DONE", marker
    elif subscriber == "analytics":
        counter = _item(sandbox, "analytics", f"DAY#{DAY}", f"VARIANT#{order_id}#ALL")
        assert counter is not None and int(counter["orders"]) == 1, counter
    elif subscriber == "audit":
        chain = _table(sandbox, "audit").query(
            KeyConditionExpression="pk = :c AND begins_with(sk, :s)",
            ExpressionAttributeValues={":c": "CHAIN", ":s": "SEQ#"},
            ConsistentRead=True,
        )["Items"]
        mine = [
            r
            for r in chain
            if json.loads(r["detail"])["metadata"]["correlationId"] == order_id
            and r["detailType"] == constants.EVENT_ORDER_COMPLETED
        ]
        assert len(mine) == 1, mine
    elif subscriber == "notifications":
        assert len(_emails_to(sandbox, f"{order_id}@example.com")) == 1
        claim = _item(sandbox, "notifications", f"ORDER#{order_id}", "CONFIRMATION")
        assert claim is not None and claim["status"] == notifications.SENT
    elif subscriber == "failure_stats":
        counter = _item(sandbox, "failure_stats", f"DAY#{DAY}", f"ERROR#{order_id}")
        assert counter is not None and int(counter["orders"]) == 1, counter
    else:
        raise AssertionError(f"no check for subscriber {subscriber}")


@pytest.mark.parametrize("subscriber", [*ORDER_COMPLETED_SUBSCRIBERS, "failure_stats"])
def test_a_subscriber_that_crashes_after_its_write_is_retried_to_one_application(
    sandbox: Sandbox, injector: FaultInjector, subscriber: str
) -> None:
    order_id = _order_id()
    injector.add(order_id, Fault(f"subscribers.{subscriber}", Kind.CRASH_AFTER, times=1))
    _publish_heard_event(sandbox, subscriber, order_id)
    delivery = _delivery(sandbox, order_id, subscriber, _heard_by(subscriber))
    assert delivery.outcome == "SUCCEEDED" and delivery.attempts == 2, delivery
    _applied_once(sandbox, subscriber, order_id)


@pytest.mark.parametrize("subscriber", [*ORDER_COMPLETED_SUBSCRIBERS, "failure_stats"])
def test_a_subscriber_that_always_fails_after_its_write_dead_letters_the_event(
    sandbox: Sandbox, injector: FaultInjector, subscriber: str
) -> None:
    order_id = _order_id()
    injector.add(order_id, Fault(f"subscribers.{subscriber}", Kind.CRASH_AFTER))  # permanent
    _publish_heard_event(sandbox, subscriber, order_id)
    delivery = _delivery(sandbox, order_id, subscriber, _heard_by(subscriber))
    assert delivery.outcome == "FAILED" and _dead_lettered(sandbox, delivery, order_id)
    _applied_once(sandbox, subscriber, order_id)  # applied by the first run, and not again by the retries
