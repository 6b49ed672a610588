"""Trust boundaries in a running sandbox (issue 11): a review token answered by anyone but the decision
path ships nothing; a decision records who signed it; a forged OrderCompleted is refused by subscribers."""

from __future__ import annotations

import json
import time
import uuid
from datetime import date
from typing import Any

from infra.subscribers import REGISTRY, hears_order_completed
from lambdas.shared import constants
from lambdas.subscribers import trust
from sandbox import demo, observe, scenarios
from sandbox.account import Sandbox
from sandbox.reviewers import decision_payload
from tests.contract import samples
from tests.sales import record_sale


def _review_order(sandbox: Sandbox, prefix: str) -> dict[str, Any]:
    catalog = scenarios.load_catalog()
    shop = scenarios.Storefront(catalog, demo.deployed_pricing(sandbox))
    sku = catalog["products"][0]["sku"]
    return shop.order(prefix, [(sku, 1)], "DE", token="tok_review_fraud_screen")


def _token_from_history(history: list[dict[str, Any]]) -> str:
    """What anyone with states:GetExecutionHistory reads: the token in the review task's parameters."""
    for event in history:
        details = event.get("taskScheduledEventDetails") or event.get("lambdaFunctionScheduledEventDetails")
        if details and "taskToken" in details.get("parameters", details.get("input", "")):
            payload = json.loads(details.get("parameters") or details["input"])
            return str(payload.get("Payload", payload)["taskToken"])
    raise AssertionError("no review task in the history")


def test_a_token_answered_outside_the_decision_path_ships_nothing(sandbox: Sandbox) -> None:
    runner = sandbox.runner()
    order = _review_order(sandbox, "forged-review")
    arn = runner.start(order)
    runner.wait_for_task_token(order["orderId"])
    token = _token_from_history(runner.history(arn))

    sandbox.client("stepfunctions").send_task_success(taskToken=token, output=json.dumps({"decision": "APPROVED"}))
    runner.wait([arn])
    result = runner.result(arn)
    assert (result.status, result.error) == ("FAILED", constants.ERROR_REVIEW_NOT_RECORDED)
    assert "NotifyWarehouse" not in result.states
    assert observe.payment(sandbox, order["orderId"])["status"] == "VOIDED"


def test_the_decision_records_the_signed_session_not_a_payload_field(sandbox: Sandbox) -> None:
    runner = sandbox.runner()
    order = _review_order(sandbox, "signed-review")
    arn = runner.start(order)
    runner.wait_for_task_token(order["orderId"])
    forged = {**decision_payload(sandbox, order["orderId"], "approve", "grace"), "reviewer": "ceo@example.com"}
    refused, error = sandbox.invoke(constants.REVIEW_DECISION_HANDLER, forged)
    assert error and "'reviewer' is not accepted" in refused["errorMessage"]

    runner.decide_review(order["orderId"], "approve", "grace")
    runner.wait([arn])
    assert runner.status(arn) == "SUCCEEDED"
    payment = observe.payment(sandbox, order["orderId"])
    assert payment["reviewer"] == "grace" and payment["reviewerArn"].endswith("/grace")


# --- Only the shop speaks for the shop (finding 2) ------------------------------------------------------------
VICTIM = "victim@outside.example"
FOREIGN_ACCOUNT = "999988887777"


def _forged_completed(order_id: str) -> dict[str, Any]:
    """An OrderCompleted as the workflow would publish it, for an order the shop never sold, to an outsider."""
    event = samples.order_completed(order_id, email=VICTIM, site_variant=order_id, occurred_at="2000-01-01T00:00:00Z")
    return {**event, "time": "2000-01-01T00:00:00Z"}


def _put_from_another_account(sandbox: Sandbox, event: dict[str, Any]) -> None:
    """What EventBridge delivers when another account's PutEvents on our bus is admitted: the event carries the
    sender's account. The bus policy denies our source to it (tests/infra/test_bus_publishers.py); this shows
    the subscribers refusing it should the policy ever admit it (moto puts every event in the caller's account)."""
    from moto.events.models import events_backends

    from sandbox.account import ACCOUNT_ID

    bus = events_backends[ACCOUNT_ID][sandbox.region].describe_event_bus(sandbox.outputs["EventBusName"])
    for rule in list(bus.rules.values()):
        rule.send_to_targets({**event, "account": FOREIGN_ACCOUNT, "time": time.time(), "ingestion-time": time.time()})


def _traces(sandbox: Sandbox, order_id: str) -> dict[str, Any]:
    """What a completed order leaves: e-mails to the victim, analytics counts, logistics bookings."""
    stored = {
        name: [i for i in _scan(sandbox, name) if order_id in json.dumps(i, default=str)]
        for name in ("Analytics", "Logistics", "Notifications", "Inventory")
    }
    return {"emails": [e for e in observe.emails(sandbox) if VICTIM in e.to], **stored}


def _scan(sandbox: Sandbox, subscriber: str) -> list[dict[str, Any]]:
    table = sandbox.resource("dynamodb").Table(observe.subscriber_table(sandbox, subscriber))
    return list(table.scan(ConsistentRead=True)["Items"])


def _put(sandbox: Sandbox, event: dict[str, Any]) -> None:
    entry = {
        "EventBusName": sandbox.outputs["EventBusName"],
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
        "Time": event["time"],
    }
    assert sandbox.client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0


def test_a_forged_order_completed_sends_no_email_counts_no_sale_and_books_no_parcel(sandbox: Sandbox) -> None:
    foreign_account, foreign_source, never_sold = (f"forged-{kind}-{uuid.uuid4().hex[:8]}" for kind in "asn")
    for order_id in (foreign_account, foreign_source):
        record_sale(sandbox, order_id)  # even naming an order the shop sold
    _put_from_another_account(sandbox, _forged_completed(foreign_account))
    _put(sandbox, {**_forged_completed(foreign_source), "source": "com.example.orders-shop"})
    _put(sandbox, _forged_completed(never_sold))  # from inside the account, under our source
    assert sandbox.drain()

    hearers = {s.name for s in REGISTRY if hears_order_completed(s.event_pattern)}
    for order_id, reason in ((foreign_account, trust.FOREIGN_ACCOUNT), (never_sold, trust.UNKNOWN_ORDER)):
        deliveries = [d for d in sandbox.targets.deliveries if d.correlation_id == order_id]
        assert len(deliveries) == len(hearers), order_id  # each subscriber of OrderCompleted refused it
        # Buffered subscribers (notifications) answer for a batch: their refusal shows in the traces below.
        assert all(d.outcome == "SUCCEEDED" and d.results in ([{"refused": reason}], []) for d in deliveries)
        assert sum(d.results == [{"refused": reason}] for d in deliveries) >= len(deliveries) - 1, deliveries
        assert all(d.dead_letter is None for d in deliveries)  # refused once: not retried, not dead-lettered
    assert not [d for d in sandbox.targets.deliveries if d.correlation_id == foreign_source]  # no rule matches
    for order_id in (foreign_account, foreign_source, never_sold):
        assert _traces(sandbox, order_id) == {
            "emails": [],
            "Analytics": [],
            "Logistics": [],
            "Notifications": [],
            "Inventory": [],
        }
    assert not [v for v in observe.analytics_by_variant(sandbox, date(2000, 1, 1)) if v.variant.startswith("forged")]
