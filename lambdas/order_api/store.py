"""What the order API does in AWS: start and read the order's execution (this workflow's only), read the
catalog (ValidateOrder's check) and the order's timeline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from lambdas.shared.adapters.executions import execution_arn, start_once
from lambdas.timeline import store as timeline_store


class Executions:
    """The order workflow's executions (StartExecution, DescribeExecution, GetExecutionHistory only)."""

    def __init__(self, stepfunctions_client: Any, state_machine_arn: str) -> None:
        self._sfn = stepfunctions_client
        self._machine = state_machine_arn

    def describe(self, order_id: str) -> dict[str, Any] | None:
        try:
            return dict(self._sfn.describe_execution(executionArn=execution_arn(self._machine, order_id)))
        except ClientError as error:
            if _code(error) == "ExecutionDoesNotExist":
                return None
            raise

    def start(self, order_id: str, execution_input: str) -> dict[str, Any] | None:
        """Start the order's execution; None when one of that name exists with another input or has ended
        (ExecutionAlreadyExists). Same name and input while it runs: Step Functions answers as it did."""
        return start_once(self._sfn, self._machine, order_id, execution_input)

    def history(self, order_id: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        pages = self._sfn.get_paginator("get_execution_history").paginate(
            executionArn=execution_arn(self._machine, order_id), includeExecutionData=False
        )
        for page in pages:
            events.extend(page["events"])
        return events


def timeline_items(dynamo_table: Any | None, order_id: str) -> list[Mapping[str, Any]]:
    return list(timeline_store.order_items(dynamo_table, order_id)) if dynamo_table is not None else []


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
