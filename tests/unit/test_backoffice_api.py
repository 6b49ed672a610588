"""The back-office API: who may do what (from the authoriser's claims only), and what it shows.

A real (moto) execution waits on a task token, as WaitForPaymentReview does; the payment item holds the
token. The decision goes through the API handler with Cognito claims, never a reviewer in the body.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.backoffice_api import handler as backoffice
from lambdas.backoffice_api import logic
from lambdas.backoffice_api.settings import ENV_ALLOWED_ORIGIN, ENV_FAILURE_STATS_TABLE
from lambdas.shared import constants
from lambdas.timeline.store import ENV_TIMELINE_TABLE
from tests.conftest import create_table, lambda_context

ORIGIN = "https://d111111abcdef8.cloudfront.net"
ROLE_ARN = "arn:aws:iam::123456789012:role/test-workflow"
REVIEWER = {"cognito:username": "rita", "cognito:groups": "reviewers", "email": "rita@example.com"}
OPERATOR = {"cognito:username": "otto", "cognito:groups": "operators"}
NOBODY = {"cognito:username": "nina"}


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield


@pytest.fixture
def env(tables: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    stats = create_table("test-failure-stats", constants.SUBSCRIBER_TABLE_KEYS)
    monkeypatch.setenv(ENV_FAILURE_STATS_TABLE, "test-failure-stats")
    monkeypatch.setenv(ENV_ALLOWED_ORIGIN, ORIGIN)
    create_table("test-timeline", constants.SUBSCRIBER_TABLE_KEYS)
    monkeypatch.setenv(ENV_TIMELINE_TABLE, "test-timeline")
    sfn = boto3.client("stepfunctions")
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="review-tokens")["QueueUrl"]
    wait = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": queue, "MessageBody": {"taskToken.$": "$$.Task.Token"}},
        "TimeoutSeconds": 600,
        "End": True,
    }
    definition = {"StartAt": "WaitForPaymentReview", "States": {"WaitForPaymentReview": wait}}
    arn = sfn.create_state_machine(name="orders", definition=json.dumps(definition), roleArn=ROLE_ARN)[
        "stateMachineArn"
    ]
    monkeypatch.setenv(constants.ENV_STATE_MACHINE_ARN, arn)
    backoffice.settings.cache_clear()
    found = {"sfn": sfn, "sqs": sqs, "queue": queue, "arn": arn, "stats": stats, **tables}
    yield found
    for execution in sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]:
        sfn.stop_execution(executionArn=execution["executionArn"])
    backoffice.settings.cache_clear()


def park(env: dict[str, Any], order_id: str, requested: datetime, amount: int = 2974) -> str:
    """An execution waiting for review and its payment item (what wait_for_payment_review leaves)."""
    execution = env["sfn"].start_execution(
        stateMachineArn=env["arn"], name=order_id, input=json.dumps({"orderId": order_id, "customer": {"id": "c-1"}})
    )["executionArn"]
    deadline = time.monotonic() + 10
    while not (messages := env["sqs"].receive_message(QueueUrl=env["queue"]).get("Messages")):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    env["sqs"].delete_message(QueueUrl=env["queue"], ReceiptHandle=messages[0]["ReceiptHandle"])
    env[constants.ENV_PAYMENTS_TABLE].put_item(
        Item={
            "orderId": order_id,
            "status": "REVIEW_PENDING",
            "taskToken": json.loads(messages[0]["Body"])["taskToken"],
            "amountCents": amount,
            "currency": "EUR",
            "customerId": "c-1",
            "requestedAt": requested.isoformat(),
            "reviewDeadline": (requested + timedelta(hours=72)).isoformat(),
        }
    )
    return execution


def call(method: str, path: str, claims: dict[str, Any] | None, body: Any = None, query: dict[str, str] | None = None):
    segments = path.strip("/").split("/")
    params = {"orderId": segments[3]} if len(segments) > 3 else None
    event = {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Origin": ORIGIN, "Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": None,
        "pathParameters": params,
        "stageVariables": None,
        "requestContext": {
            "httpMethod": method,
            "path": "/prod" + path,
            "resourcePath": path,
            "stage": "prod",
            "requestId": "r-1",
            "authorizer": {"claims": claims} if claims is not None else None,
        },
        "body": body if body is None or isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
    }
    response = backoffice.handler(event, lambda_context("backoffice"))
    return response["statusCode"], json.loads(response["body"] or "null"), response


def test_the_reviewer_recorded_is_the_tokens_user_and_the_order_resumes(env: dict[str, Any]) -> None:
    execution = park(env, "ord-1", datetime.now(UTC) - timedelta(hours=1))
    status, body, response = call(
        "POST", "/backoffice/reviews/ord-1/decision", REVIEWER, {"decision": "approve", "note": "known customer"}
    )
    assert status == 200, body
    assert body["reviewer"] == "rita" and body["decision"] == "APPROVED"
    item = env[constants.ENV_PAYMENTS_TABLE].get_item(Key={"orderId": "ord-1"})["Item"]
    assert (item["reviewer"], item["reviewNote"]) == ("rita", "known customer")
    assert response["multiValueHeaders"]["Access-Control-Allow-Origin"] == [ORIGIN]
    deadline = time.monotonic() + 10
    while env["sfn"].describe_execution(executionArn=execution)["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert env["sfn"].describe_execution(executionArn=execution)["status"] == "SUCCEEDED"


def test_a_body_naming_the_reviewer_is_refused_and_changes_nothing(env: dict[str, Any]) -> None:
    park(env, "ord-2", datetime.now(UTC))
    status, body, _ = call(
        "POST", "/backoffice/reviews/ord-2/decision", REVIEWER, {"decision": "approve", "reviewer": "mallory"}
    )
    assert status == 400 and "reviewer" in body["message"]
    assert env[constants.ENV_PAYMENTS_TABLE].get_item(Key={"orderId": "ord-2"})["Item"]["status"] == "REVIEW_PENDING"


@pytest.mark.parametrize(("claims", "status"), [(OPERATOR, 403), (NOBODY, 403), (None, 401)])
def test_operators_and_outsiders_decide_nothing(env: dict[str, Any], claims: Any, status: int) -> None:
    park(env, "ord-3", datetime.now(UTC))
    code, body, _ = call("POST", "/backoffice/reviews/ord-3/decision", claims, {"decision": "reject"})
    assert code == status, body
    assert env[constants.ENV_PAYMENTS_TABLE].get_item(Key={"orderId": "ord-3"})["Item"]["status"] == "REVIEW_PENDING"


def test_a_second_decision_is_refused_with_the_first_reviewers_name(env: dict[str, Any]) -> None:
    park(env, "ord-4", datetime.now(UTC))
    assert (
        call("POST", "/backoffice/reviews/ord-4/decision", REVIEWER, {"decision": "reject", "note": "stolen card"})[0]
        == 200
    )
    other = {**REVIEWER, "cognito:username": "sam"}
    status, body, _ = call("POST", "/backoffice/reviews/ord-4/decision", other, {"decision": "approve"})
    assert status == 409 and "rejected by rita" in body["message"]


def test_waiting_reviews_oldest_first_with_time_waited_and_left(env: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    park(env, "ord-new", now - timedelta(minutes=5), amount=100)
    park(env, "ord-old", now - timedelta(hours=2), amount=90000)
    for claims in (REVIEWER, OPERATOR):
        status, body, _ = call("GET", "/backoffice/reviews", claims)
        assert status == 200
        assert [r["orderId"] for r in body["reviews"]] == ["ord-old", "ord-new"]
    old = body["reviews"][0]
    assert old["amountCents"] == 90000 and old["customerId"] == "c-1"
    assert 7190 <= old["waitedSeconds"] <= 7300
    assert 70 * 3600 - 100 <= old["leftSeconds"] <= 70 * 3600 + 100
    assert call("GET", "/backoffice/reviews", NOBODY)[0] == 403


def test_operators_see_orders_by_status_and_failures_by_reason_reviewers_do_not(env: dict[str, Any]) -> None:
    park(env, "ord-5", datetime.now(UTC))
    today = datetime.now(UTC).date()
    for day, error, count in (
        (today, "Order.OutOfStock", 3),
        (today - timedelta(days=1), "Order.OutOfStock", 2),
        (today, "Order.PaymentDeclined", 4),
    ):
        env["stats"].put_item(Item={"pk": f"DAY#{day.isoformat()}", "sk": f"ERROR#{error}", "orders": count})
    status, body, _ = call("GET", "/backoffice/orders", OPERATOR, query={"status": "running"})
    assert status == 200 and [o["orderId"] for o in body["orders"]] == ["ord-5"]
    status, body, _ = call("GET", "/backoffice/failures", OPERATOR, query={"days": "7"})
    assert status == 200
    assert [(f["error"], f["orders"]) for f in body["failures"]] == [
        ("Order.OutOfStock", 5),
        ("Order.PaymentDeclined", 4),
    ]
    assert call("GET", "/backoffice/orders", OPERATOR, query={"status": "LOST"})[0] == 400
    assert call("GET", "/backoffice/failures", REVIEWER)[0] == 403
    assert call("GET", "/backoffice/orders", REVIEWER)[0] == 403


def test_order_detail_for_reviewers_and_operators(env: dict[str, Any]) -> None:
    park(env, "ord-6", datetime.now(UTC))
    for claims in (REVIEWER, OPERATOR):
        status, body, _ = call("GET", "/backoffice/orders/ord-6", claims)
        assert status == 200
        assert body["status"] == "RUNNING" and body["customerId"] == "c-1"
        assert body["payment"]["status"] == "REVIEW_PENDING" and "taskToken" not in body["payment"]
        assert body["states"] == ["WaitForPaymentReview"]
        assert [(e["source"], e.get("state"), e["outcome"]) for e in body["timeline"]] == [
            ("workflow", "WaitForPaymentReview", "entered")
        ]
    assert call("GET", "/backoffice/orders/nope", REVIEWER)[0] == 404
    assert call("GET", "/backoffice/orders/ord-6", NOBODY)[0] == 403


def test_me_says_what_the_token_allows(env: dict[str, Any]) -> None:
    status, body, _ = call("GET", "/backoffice/me", OPERATOR)
    assert status == 200 and body["user"] == "otto" and "decide" not in body["may"] and "operate" in body["may"]


@pytest.mark.parametrize(
    ("claim", "groups"),
    [
        ("reviewers", {"reviewers"}),
        ("reviewers,operators", {"reviewers", "operators"}),
        ("[reviewers operators]", {"reviewers", "operators"}),
        (["operators"], {"operators"}),
        (None, set()),
    ],
)
def test_groups_claim_in_every_shape_api_gateway_uses(claim: Any, groups: set[str]) -> None:
    assert logic.groups_claim(claim) == groups


@pytest.mark.parametrize(
    "body",
    [
        {"decision": "maybe"},
        {"decision": "approve", "note": 5},
        {"decision": "approve", "note": "x" * 1001},
        {"decision": "approve", "extra": 1},
        [],
        "approve",
    ],
)
def test_bad_decision_bodies_name_the_problem(body: Any) -> None:
    with pytest.raises(logic.BadRequest):
        logic.decision_request("ord-1", body, logic.Caller("rita", frozenset({"reviewers"})))
