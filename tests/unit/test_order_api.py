"""The order API's handler on moto (Step Functions without execution, DynamoDB) and its pure logic;
the timeline's recorder around a subscriber handler; docs/openapi.json is what the resolver generates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from examples.seed import seed_inventory
from lambdas.order_api import handler as api
from lambdas.order_api import logic
from lambdas.shared import constants
from lambdas.timeline import logic as timeline
from lambdas.timeline import recorder
from lambdas.timeline import store as timeline_store
from sandbox.scenarios import CATALOG_PATH
from sandbox.serve import EXAMPLE_ORDER
from tools import openapi

REPO = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"


def _table(dynamodb: Any, name: str) -> Any:
    return dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimpleNamespace]:
    for name, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        from lambdas.shared.adapters import aws_clients

        aws_clients.client.cache_clear()
        aws_clients.table.cache_clear()
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        _table(dynamodb, "inventory")
        _table(dynamodb, "timeline")
        seed_inventory("inventory", json.loads(CATALOG_PATH.read_text()))
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(
            name="orders", roleArn=role, definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}})
        )["stateMachineArn"]
        monkeypatch.setenv(constants.ENV_STATE_MACHINE_ARN, machine)
        monkeypatch.setenv(constants.ENV_INVENTORY_TABLE, "inventory")
        monkeypatch.setenv(timeline_store.ENV_TIMELINE_TABLE, "timeline")
        yield SimpleNamespace(sfn=sfn, machine=machine, timeline=dynamodb.Table("timeline"))
        aws_clients.client.cache_clear()
        aws_clients.table.cache_clear()


def request(method: str, path: str, body: Any = None, order_id: str | None = None) -> dict[str, Any]:
    event = {
        "resource": "/orders/{orderId}" if order_id else "/orders",
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "queryStringParameters": None,
        "pathParameters": {"orderId": order_id} if order_id else None,
        "requestContext": {"resourcePath": "/orders", "httpMethod": method, "stage": "dev", "requestId": "r-1"},
        "body": body if isinstance(body, str) or body is None else json.dumps(body),
        "isBase64Encoded": False,
    }
    response = api.handler(
        event,
        SimpleNamespace(
            aws_request_id="r-1",
            function_name="api",
            memory_limit_in_mb=256,
            invoked_function_arn="arn:aws:lambda:eu-west-1:1:function:api",
        ),
    )
    answer = {"status": response["statusCode"], "body": json.loads(response["body"] or "null")}
    assert_documented(method, answer)
    return answer


def assert_documented(method: str, answer: dict[str, Any]) -> None:
    """The answer is what docs/openapi.json says: its model's fields exactly (tools/openapi.py's models)."""
    status = answer["status"]
    model = {202: openapi.OrderAccepted, 200: openapi.OrderView if method == "GET" else openapi.OrderAccepted}.get(
        status, openapi.Problem
    )
    assert model.model_validate(answer["body"]).model_dump(exclude_none=True) == answer["body"], answer


def executions(aws: SimpleNamespace) -> list[str]:
    return [e["name"] for e in aws.sfn.list_executions(stateMachineArn=aws.machine)["executions"]]


def test_a_valid_order_starts_its_execution_named_after_it(aws: SimpleNamespace) -> None:
    answer = request("POST", "/orders", EXAMPLE_ORDER)
    assert answer["status"] == 202 and answer["body"]["started"] is True
    assert executions(aws) == [EXAMPLE_ORDER["orderId"]]
    described = aws.sfn.describe_execution(executionArn=answer["body"]["executionArn"])
    assert json.loads(described["input"]) == EXAMPLE_ORDER


def test_the_same_order_again_answers_with_it_and_another_under_its_id_gets_409(aws: SimpleNamespace) -> None:
    request("POST", "/orders", EXAMPLE_ORDER)
    again = request("POST", "/orders", json.dumps(EXAMPLE_ORDER, indent=4))  # same order, other spacing
    assert again["status"] == 200, again
    assert again["body"]["started"] is False
    other = {**EXAMPLE_ORDER, "customer": {**EXAMPLE_ORDER["customer"], "email": "someone.else@example.com"}}
    refused = request("POST", "/orders", other)
    assert refused["status"] == 409, refused
    assert executions(aws) == [EXAMPLE_ORDER["orderId"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"items": [{**EXAMPLE_ORDER["items"][0], "quantity": 0}]}, "items[0].quantity"),
        ({"items": [{**EXAMPLE_ORDER["items"][0], "sku": "NO-SUCH-SKU"}]}, "items[0].sku"),
        ({"orderId": "not valid!"}, "orderId"),
    ],
)
def test_an_invalid_order_gets_400_naming_the_field_and_starts_nothing(
    aws: SimpleNamespace, change: dict[str, Any], field: str
) -> None:
    answer = request("POST", "/orders", {**EXAMPLE_ORDER, **change})
    assert answer["status"] == 400 and answer["body"]["field"] == field, answer
    assert executions(aws) == []


def test_a_body_that_is_not_an_order_object_gets_400(aws: SimpleNamespace) -> None:
    assert request("POST", "/orders", "[1, 2")["status"] == 400
    assert request("POST", "/orders", [EXAMPLE_ORDER])["status"] == 400
    assert executions(aws) == []


def test_invalid_passes_through_a_context_manager_as_itself() -> None:
    """A context manager's exit sets __traceback__ on the exception (a frozen dataclass refused it)."""

    @contextmanager
    def around() -> Iterator[None]:
        yield

    with pytest.raises(logic.Invalid) as raised, around():
        raise logic.Invalid("items", "items: must not be empty")
    assert (raised.value.field, raised.value.message) == ("items", "items: must not be empty")


def test_an_order_over_256_kib_gets_413_and_starts_nothing(aws: SimpleNamespace) -> None:
    answer = request("POST", "/orders", {**EXAMPLE_ORDER, "note": "x" * logic.MAX_INPUT_BYTES})
    assert answer["status"] == 413
    assert executions(aws) == []


def test_get_shows_the_order_and_its_timeline_and_404_for_none(aws: SimpleNamespace) -> None:
    order_id = EXAMPLE_ORDER["orderId"]
    request("POST", "/orders", EXAMPLE_ORDER)
    event = {
        "id": "e-1",
        "detail-type": "OrderCompleted",
        "time": "2026-11-26T10:00:00Z",
        "detail": {"metadata": {"correlationId": order_id}, "data": {"orderId": order_id}},
    }
    timeline_store.put(
        aws.timeline, timeline.delivery_record(event, "audit", timeline.APPLIED, "2026-11-26T10:00:01.000Z", "r")
    )
    shown = request("GET", f"/orders/{order_id}", order_id=order_id)
    assert shown["status"] == 200
    body = shown["body"]
    assert body["orderId"] == order_id and body["status"] in ("RUNNING", "SUCCEEDED")
    assert [(e["source"], e["outcome"]) for e in body["timeline"] if e["source"] != "workflow"] == [
        ("bus", "published"),
        ("subscriber", "applied"),
    ]
    assert request("GET", "/orders/nobody", order_id="nobody")["status"] == 404


def test_workflow_entries_show_each_state_with_its_outcome_and_retries() -> None:
    t0 = datetime(2026, 11, 26, 10, tzinfo=UTC)
    at = [t0 + timedelta(seconds=i) for i in range(9)]
    history = [
        {"type": "TaskStateEntered", "timestamp": at[0], "stateEnteredEventDetails": {"name": "ReserveStock"}},
        {"type": "TaskScheduled", "timestamp": at[1]},
        {"type": "TaskFailed", "timestamp": at[2], "taskFailedEventDetails": {"error": "Lambda.TooManyRequests"}},
        {"type": "TaskScheduled", "timestamp": at[3]},
        {"type": "TaskSucceeded", "timestamp": at[4]},
        {"type": "TaskStateExited", "timestamp": at[5], "stateExitedEventDetails": {"name": "ReserveStock"}},
        {"type": "TaskStateEntered", "timestamp": at[6], "stateEnteredEventDetails": {"name": "CollectPayment"}},
        {"type": "TaskFailed", "timestamp": at[7], "taskFailedEventDetails": {"error": "Payment.Declined"}},
        {"type": "ExecutionFailed", "timestamp": at[8], "executionFailedEventDetails": {"error": "Payment.Declined"}},
    ]
    entries = timeline.workflow_entries(history)
    assert entries[0] | {} == {
        "at": "2026-11-26T10:00:00.000Z",
        "source": "workflow",
        "state": "ReserveStock",
        "outcome": "succeeded",
        "attempts": 2,
        "retriedAfter": "Lambda.TooManyRequests",
        "endedAt": "2026-11-26T10:00:05.000Z",
    }
    assert (entries[1]["state"], entries[1]["outcome"], entries[1]["error"]) == (
        "CollectPayment",
        "failed",
        "Payment.Declined",
    )
    assert entries[2] == {
        "at": "2026-11-26T10:00:08.000Z",
        "source": "workflow",
        "outcome": "FAILED",
        "error": "Payment.Declined",
    }


def test_the_recorder_records_each_step_of_a_delivery_until_it_is_dead_lettered(aws: SimpleNamespace) -> None:
    event = {
        "id": "e-9",
        "detail-type": "OrderCompleted",
        "time": "2026-11-26T10:00:00Z",
        "detail": {"metadata": {"correlationId": "o-9"}, "data": {"orderId": "o-9"}},
    }
    context = SimpleNamespace(aws_request_id="req")

    @recorder.recorded("demo")
    def duplicate(event: Any, context: Any) -> str:
        recorder.note_applied(False)
        return "ok"

    @recorder.recorded("demo")
    def broken(event: Any, context: Any) -> str:
        raise RuntimeError("boom")

    assert duplicate(event, context) == "ok"
    for _ in range(timeline.ATTEMPTS_BEFORE_DEAD_LETTER):
        with pytest.raises(RuntimeError):
            broken(event, context)
    outcomes = [e["outcome"] for e in timeline.subscriber_entries(timeline_store.order_items(aws.timeline, "o-9"))]
    assert outcomes == ["published", "received", timeline.DUPLICATE] + [timeline.RECEIVED, timeline.FAILED] * (
        timeline.ATTEMPTS_BEFORE_DEAD_LETTER - 1
    ) + [timeline.RECEIVED, timeline.DEAD_LETTERED]


def test_the_recorder_never_fails_a_delivery_when_the_timeline_cannot_be_written(
    aws: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(timeline_store.ENV_TIMELINE_TABLE, "no-such-table")
    wrapped = recorder.recorded("demo")(lambda event, context: "done")
    event = {"id": "e", "detail": {"metadata": {"correlationId": "o-1"}}}
    assert wrapped(event, SimpleNamespace(aws_request_id="r")) == "done"


def test_docs_openapi_json_is_what_the_resolver_generates() -> None:
    """Regenerate with: .venv/bin/python -m tools.openapi > docs/openapi.json"""
    published = (REPO / "docs" / "openapi.json").read_text()
    assert published == openapi.openapi_json(), "docs/openapi.json is stale: regenerate it (see this test's docstring)"
    paths = json.loads(published)["paths"]
    assert set(paths) == {"/orders", "/orders/{orderId}"}
    assert {"200", "202", "400", "409", "413"} <= set(paths["/orders"]["post"]["responses"])


def test_the_document_has_the_operations_the_handler_routes() -> None:
    assert openapi.operations() == set(api.ROUTES)


def test_a_path_order_id_that_no_order_could_have_gets_400_naming_it(aws: SimpleNamespace) -> None:
    answer = request("GET", "/orders/bad id!", order_id="bad id!")
    assert answer["status"] == 400 and answer["body"]["field"] == "orderId", answer


def test_a_route_api_gateway_does_not_send_here_gets_404(aws: SimpleNamespace) -> None:
    assert request("DELETE", "/orders/o-1", order_id="o-1")["status"] == 404
