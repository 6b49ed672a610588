"""The review monitor: which orders wait for a reviewer, measured from running executions + payments."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from infra.names import ENV_POWERTOOLS_NAMESPACE
from lambdas.review_monitor import handler as monitor_handler
from lambdas.review_monitor.logic import review_metrics, waiting_review, waiting_reviews
from lambdas.shared import constants
from lambdas.shared.adapters.payments import PaymentsTable
from lambdas.shared.clock import iso
from tests.unit.payment_support import invoke

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def pending(order_id: str, waited: timedelta, token: str | None = "token", **extra: Any) -> dict[str, Any]:
    item = {
        "orderId": order_id,
        "status": "REVIEW_PENDING",
        "amountCents": 15456,
        "currency": "EUR",
        "customerId": f"cust-{order_id}",
        "requestedAt": iso(NOW - waited),
        "reviewDeadline": iso(NOW - waited + timedelta(hours=72)),
        **extra,
    }
    if token:
        item["taskToken"] = token
    return item


def test_only_a_pending_payment_with_a_stored_token_waits_for_a_reviewer() -> None:
    assert waiting_review(pending("a", timedelta(hours=1))) is not None
    assert waiting_review(pending("b", timedelta(hours=1), token=None)) is None  # not parked yet
    assert waiting_review({**pending("c", timedelta(hours=1)), "status": "REVIEW_APPROVED"}) is None
    assert waiting_review({"orderId": "d", "status": "APPROVED"}) is None


def test_waiting_reviews_are_the_running_orders_that_wait_oldest_first() -> None:
    items = {
        "new": pending("new", timedelta(minutes=5)),
        "old": pending("old", timedelta(hours=30)),
        "paid": {"orderId": "paid", "status": "APPROVED"},
    }
    asked: list[list[str]] = []

    def payments_of(order_ids: list[str]) -> dict[str, dict[str, Any]]:
        asked.append(order_ids)
        return {k: v for k, v in items.items() if k in order_ids}

    reviews = waiting_reviews(iter(["new", "paid", "old", "no-payment-yet"]), payments_of)
    assert asked == [["new", "paid", "old", "no-payment-yet"]]  # one batch read
    assert [r.order_id for r in reviews] == ["old", "new"]
    assert reviews[0].waited_seconds(NOW) == 30 * 3600
    assert reviews[0].review_deadline == NOW + timedelta(hours=42)

    metrics = review_metrics(reviews, NOW)
    assert metrics == {constants.METRIC_REVIEWS_WAITING: 2.0, constants.METRIC_OLDEST_REVIEW_WAIT: 30 * 3600.0}
    assert review_metrics([], NOW) == {constants.METRIC_REVIEWS_WAITING: 0.0, constants.METRIC_OLDEST_REVIEW_WAIT: 0.0}


def test_get_many_reads_more_than_one_batch(tables: dict[str, Any]) -> None:
    table = tables[constants.ENV_PAYMENTS_TABLE]
    for i in range(150):
        table.put_item(Item={"orderId": f"ord-{i:03d}", "status": "APPROVED", "amountCents": i})
    found = PaymentsTable(table).get_many([f"ord-{i:03d}" for i in range(0, 300, 2)] + ["ord-000"])
    assert sorted(found) == [f"ord-{i:03d}" for i in range(0, 150, 2)]
    assert found["ord-010"] == {"orderId": "ord-010", "status": "APPROVED", "amountCents": 10}  # plain ints


@pytest.fixture
def workflow(tables: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    """A state machine whose executions stay RUNNING (moto does not execute them here)."""
    sfn = boto3.client("stepfunctions")
    arn = sfn.create_state_machine(
        name="orders",
        definition=json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/workflow",
    )["stateMachineArn"]
    monkeypatch.setenv(constants.ENV_STATE_MACHINE_ARN, arn)
    return sfn, arn


def test_the_handler_reports_both_metrics(
    workflow: Any, tables: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    sfn, arn = workflow
    now = datetime.now(UTC)
    table = tables[constants.ENV_PAYMENTS_TABLE]
    for order_id in ("ord-waiting", "ord-paid", "ord-parking"):
        sfn.start_execution(stateMachineArn=arn, name=order_id, input="{}")
    table.put_item(Item={**pending("ord-waiting", timedelta(0)), "requestedAt": iso(now - timedelta(hours=2))})
    table.put_item(Item={"orderId": "ord-paid", "status": "APPROVED"})
    table.put_item(Item=pending("ord-parking", timedelta(0), token=None))
    table.put_item(Item=pending("ord-not-running", timedelta(hours=9)))  # its execution is gone

    result = invoke(monitor_handler.handler, {"source": "aws.events", "detail-type": "Scheduled Event"})
    assert result["oldestOrderId"] == "ord-waiting"
    assert result[constants.METRIC_REVIEWS_WAITING] == 1
    assert 2 * 3600 <= result[constants.METRIC_OLDEST_REVIEW_WAIT] < 2 * 3600 + 60

    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    (emf,) = emitted
    names = {m["Name"]: m["Unit"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert names == {constants.METRIC_REVIEWS_WAITING: "Count", constants.METRIC_OLDEST_REVIEW_WAIT: "Seconds"}
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == os.environ[ENV_POWERTOOLS_NAMESPACE]  # the stage's
    assert emf[constants.METRIC_REVIEWS_WAITING] == [1.0]
