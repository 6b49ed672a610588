"""The back-office API: who may do what (from the authoriser's claims only), and what it shows.

A real (moto) execution waits on a task token, as WaitForPaymentReview does; the payment item holds the
token. The decision goes through the API handler with Cognito claims, never a reviewer in the body.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.backoffice import ROUTES as INFRA_ROUTES
from lambdas.backoffice_api import handler as backoffice
from lambdas.backoffice_api import logic
from lambdas.backoffice_api.settings import (
    CORS_ALLOW_HEADERS,
    CORS_MAX_AGE_SECONDS,
    ENV_ALLOWED_ORIGIN,
    ENV_FAILURE_STATS_TABLE,
)
from lambdas.shared import constants
from lambdas.timeline.store import ENV_TIMELINE_TABLE
from sandbox.api_gateway import path_pattern, sent_headers
from tests.conftest import create_table, lambda_context

ORIGIN = "https://d111111abcdef8.cloudfront.net"
ROLE_ARN = "arn:aws:iam::123456789012:role/test-workflow"
REVIEWER = {"cognito:username": "rita", "cognito:groups": "reviewers", "email": "rita@example.com"}
OPERATOR = {"cognito:username": "otto", "cognito:groups": "operators"}
NOBODY = {"cognito:username": "nina"}
# The API's resources (infra/backoffice.py): what API Gateway names in the event's `resource`.
RESOURCES = sorted({f"/backoffice/{path}" for path, _ in INFRA_ROUTES}, key=lambda r: r.count("{"))


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


def resource_of(path: str) -> tuple[str, dict[str, str] | None]:
    """The resource API Gateway matches ``path`` to ("/backoffice/orders/{orderId}") and its path parameters,
    matched as the sandbox's API Gateway does; an unknown path is its own resource (API Gateway would not
    route it here at all)."""
    for resource in RESOURCES:
        if found := path_pattern(resource).fullmatch(path):
            return resource, found.groupdict() or None
    return path, None


def event_for(
    method: str,
    path: str,
    claims: dict[str, Any] | None,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The REST API's Lambda proxy event for a request on the stage (as sandbox/api_gateway.py builds it)."""
    resource, params = resource_of(path)
    headers = {"Origin": ORIGIN, "Content-Type": "application/json"} if headers is None else headers
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": params,
        "stageVariables": None,
        "requestContext": {
            "httpMethod": method,
            "path": "/prod" + path,
            "resourcePath": resource,
            "stage": "prod",
            "requestId": "r-1",
            "authorizer": {"claims": claims} if claims is not None else None,
        },
        "body": body if body is None or isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
    }


def answer_to(event: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
    response = backoffice.handler(event, lambda_context("backoffice"))
    return response["statusCode"], json.loads(response["body"] or "null"), sent_headers(response)


def call(method: str, path: str, claims: dict[str, Any] | None, body: Any = None, query: dict[str, str] | None = None):
    return answer_to(event_for(method, path, claims, body, query))


def test_the_reviewer_recorded_is_the_tokens_user_and_the_order_resumes(env: dict[str, Any]) -> None:
    execution = park(env, "ord-1", datetime.now(UTC) - timedelta(hours=1))
    status, body, headers = call(
        "POST", "/backoffice/reviews/ord-1/decision", REVIEWER, {"decision": "approve", "note": "known customer"}
    )
    assert status == 200, body
    assert body["reviewer"] == "rita" and body["decision"] == "APPROVED"
    item = env[constants.ENV_PAYMENTS_TABLE].get_item(Key={"orderId": "ord-1"})["Item"]
    assert (item["reviewer"], item["reviewNote"]) == ("rita", "known customer")
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
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


def test_the_routes_are_the_methods_api_gateway_sends_here_by_resource() -> None:
    declared = {(method, f"/backoffice/{path}") for path, methods in INFRA_ROUTES for method in methods}
    assert set(backoffice.ROUTES) == declared


def test_routed_by_resource_whatever_path_a_custom_domain_puts_before_it(env: dict[str, Any]) -> None:
    # A custom domain's base path mapping (https://api.example.com/v1/...) is in the event's path, not in its
    # resource; the order id comes from pathParameters.
    park(env, "ord-7", datetime.now(UTC))
    event = event_for("POST", "/backoffice/reviews/ord-7/decision", REVIEWER, {"decision": "reject"})
    event["path"] = "/v1" + event["path"]
    status, body, _ = answer_to(event)
    assert (status, body["orderId"], body["decision"]) == (200, "ord-7", "REJECTED")


def test_an_unknown_route_is_a_404_naming_method_and_resource(env: dict[str, Any]) -> None:
    status, body, headers = answer_to(event_for("DELETE", "/backoffice/me", OPERATOR))
    assert (status, body) == (404, {"message": "no route DELETE /backoffice/me"})
    assert headers["Access-Control-Allow-Origin"] == ORIGIN


def test_a_missing_order_is_a_404_with_a_message_alone(env: dict[str, Any]) -> None:
    status, body, headers = call("GET", "/backoffice/orders/nope", OPERATOR)
    assert (status, body, headers["Content-Type"]) == (404, {"message": "No order 'nope'."}, "application/json")


@pytest.mark.parametrize("headers", [{}, {"origin": ORIGIN}, {"Origin": "https://elsewhere.example"}])
@pytest.mark.parametrize(("claims", "status"), [(OPERATOR, 200), (None, 401), (NOBODY, 403), (REVIEWER, 403)])
def test_every_answer_carries_the_pages_cors_headers_and_only_its_origin(
    env: dict[str, Any], headers: dict[str, str], claims: Any, status: int
) -> None:
    code, body, sent = answer_to(event_for("GET", "/backoffice/failures", claims, headers=headers))
    assert code == status, body
    assert sent == {
        "Content-Type": "application/json",
        "Access-Control-Allow-Origin": ORIGIN,
        "Access-Control-Allow-Headers": ",".join(CORS_ALLOW_HEADERS),
        "Access-Control-Max-Age": str(CORS_MAX_AGE_SECONDS),
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [("{not json", "the body is not valid JSON"), (None, "must be a JSON object"), ("", "must be a JSON object")],
)
def test_a_decision_without_a_json_object_is_a_400(env: dict[str, Any], body: str | None, message: str) -> None:
    status, answer, _ = call("POST", "/backoffice/reviews/ord-8/decision", REVIEWER, body)
    assert status == 400 and message in answer["message"]


def test_a_base64_decision_body_is_read(env: dict[str, Any]) -> None:
    park(env, "ord-9", datetime.now(UTC))
    event = event_for("POST", "/backoffice/reviews/ord-9/decision", REVIEWER)
    event |= {"body": base64.b64encode(b'{"decision": "approve"}').decode(), "isBase64Encoded": True}
    status, body, _ = answer_to(event)
    assert (status, body["decision"]) == (200, "APPROVED")


def test_a_refusal_is_logged_with_its_reason_and_path(env: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    assert call("GET", "/backoffice/failures", REVIEWER)[0] == 403
    (refused,) = [record for record in caplog.records if record.getMessage() == "refused"]
    assert refused.__dict__["path"] == "/backoffice/failures"
    assert "rita (reviewers) may not" in refused.__dict__["reason"]


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
