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
