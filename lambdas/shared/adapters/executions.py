"""Step Functions executions of the order workflow (execution name = order id)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def running_order_ids(stepfunctions_client: Any, state_machine_arn: str) -> Iterator[str]:
    """The order id (execution name) of every RUNNING execution, all pages.

    Running executions are few (an order takes seconds unless it waits for a reviewer), so this
    stays cheap however many orders the shop has taken.
    """
    paginator = stepfunctions_client.get_paginator("list_executions")
    for page in paginator.paginate(stateMachineArn=state_machine_arn, statusFilter="RUNNING"):
        for execution in page["executions"]:
            yield execution["name"]


def execution_arn(state_machine_arn: str, order_id: str) -> str:
    """The execution of an order: it is named after the order id."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + order_id


def start_once(
    stepfunctions_client: Any, state_machine_arn: str, order_id: str, execution_input: str
) -> dict[str, Any] | None:
    """Start the order's execution, named after it: StartExecution's answer (``executionArn``, ``startDate``), or
    None when an execution of that name exists with another input or has ended (Step Functions answers a start with
    the same name and input while it runs as the first). The caller reads the existing one with ``existing_input``
    (the intake) or DescribeExecution (the order API)."""
    try:
        started = stepfunctions_client.start_execution(
            stateMachineArn=state_machine_arn, name=order_id, input=execution_input
        )
    except stepfunctions_client.exceptions.ExecutionAlreadyExists:
        return None
    return dict(started)


def existing_input(stepfunctions_client: Any, state_machine_arn: str, order_id: str) -> str:
    """The input of the order's execution (DescribeExecution)."""
    described = stepfunctions_client.describe_execution(executionArn=execution_arn(state_machine_arn, order_id))
    return str(described.get("input", ""))
