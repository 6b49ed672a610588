"""Least privilege by action, the other way round (issue 11, finding 4): the narrowed grants suffice.

moto does not enforce IAM, so a grant narrowed below what the code calls would pass every sandbox test and fail
in AWS. Here every DynamoDB call each deployed function makes while the demo's batch runs (every order path,
reviewers deciding, a review timing out, every subscriber) is recorded, as IAM authorises it (a transaction's
parts one by one, a batch per table), and each must be allowed by the function's role in the synthesized
template. tests/infra/test_security.py checks the other way: nothing is granted beyond its lists.

Its own package: its sandbox must not share the e2e package's (moto's mock is switched on per package).
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient

from sandbox import demo, scenarios
from sandbox.account import Sandbox
from tests.infra.test_security import table_actions
from tests.synth import Synthesized

pytestmark = pytest.mark.e2e

_TRANSACT_PARTS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
_BY_TABLE = ("BatchGetItem", "BatchWriteItem")


def iam_actions(operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """(table name, IAM action) pairs one DynamoDB API call needs."""
    if operation == "TransactWriteItems":
        return [(p[kind]["TableName"], _TRANSACT_PARTS[kind]) for p in params["TransactItems"] for kind in p]
    if operation == "TransactGetItems":
        return [(p["Get"]["TableName"], "GetItem") for p in params["TransactItems"]]
    if operation in _BY_TABLE:
        return [(table, operation) for table in params["RequestItems"]]
    return [(str(params.get("TableName", "*")), operation)]


class Recorder:
    """Every DynamoDB call made inside a function's invocation (the sandbox gives each its AWS_LAMBDA_FUNCTION_NAME
    in a per-thread environment): function name -> table name -> IAM actions."""

    def __init__(self) -> None:
        self.calls: dict[str, dict[str, set[str]]] = {}
        self._lock = threading.Lock()

    def record(self, client: BaseClient, operation: str, params: dict[str, Any]) -> None:
        function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        if function and client.meta.service_model.service_name == "dynamodb":
            with self._lock:
                for table, action in iam_actions(operation, params):
                    self.calls.setdefault(function, {}).setdefault(table, set()).add(f"dynamodb:{action}")


@pytest.fixture(scope="module")
def recorded(cdk_out: Path) -> Iterator[tuple[Recorder, dict[str, str]]]:
    recorder = Recorder()
    original = BaseClient._make_api_call

    def recording(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        recorder.record(client, operation, params)
        return original(client, operation, params)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseClient, "_make_api_call", recording)
        with Sandbox(cdk_out, seed_catalog=scenarios.CATALOG_PATH) as sandbox:
            catalog = scenarios.load_catalog()
            batch = scenarios.batch(scenarios.Storefront(catalog, demo.deployed_pricing(sandbox)), catalog)
            demo.run_orders(sandbox, batch, demo.Progress(io.StringIO()))
            assert sandbox.drain(), "subscribers still running"
            cloudformation = sandbox.client("cloudformation")
            (stack,) = cloudformation.describe_stacks()["Stacks"]
            resources = cloudformation.describe_stack_resources(StackName=stack["StackName"])["StackResources"]
            logical = {
                r["PhysicalResourceId"]: r["LogicalResourceId"] for r in resources if r.get("PhysicalResourceId")
            }
        yield recorder, logical


def test_every_dynamodb_call_of_every_function_is_granted(
    recorded: tuple[Recorder, dict[str, str]], synthesized: Synthesized
) -> None:
    recorder, logical = recorded
    granted = table_actions(synthesized)
    missing = {
        (logical.get(function, function), logical.get(table, table), action)
        for function, tables in recorder.calls.items()
        for table, actions in tables.items()
        for action in actions
        if action not in granted.get(logical.get(function, function), {}).get(logical.get(table, table), set())
    }
    assert not missing, f"called but not granted (AWS would refuse): {sorted(missing)}"
    # The run reaches the functions whose grants were narrowed: the stock tasks, the subscribers, a decision.
    reached = {logical.get(f, f) for f in recorder.calls}
    for prefix in (
        "WorkflowReserveStockFunction",
        "WorkflowReleaseStockFunction",
        "WorkflowDecidePaymentReview",
        "SubscribersInventoryFunction",
        "SubscribersAnalyticsFunction",
        "SubscribersNotificationsFunction",
        "SubscribersLogisticsFunction",
        "SubscribersFailureStatsFunction",
        "SubscribersAuditFunction",
    ):
        assert any(f.startswith(prefix) for f in reached), f"the demo's batch never ran {prefix}"
