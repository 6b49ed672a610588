"""Runs orders through the deployed workflow and reads what happened from the execution history.

Every execution is named after its order id (StartExecution with the same name is idempotent, and
an unnamed execution in moto gets an ARN ending in ':None').
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lambdas.shared import constants
from lambdas.shared.adapters.executions import execution_arn
from lambdas.shared.errors import readable_cause
from sandbox.reviewers import decision_payload

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
POLL_SECONDS = 0.05
WAIT_POLL_SECONDS = 0.1  # polling competes with the executions for the one interpreter


class RunnerTimeout(TimeoutError):
    pass


@dataclass
class OrderResult:
    order_id: str
    execution_arn: str
    status: str
    error: str | None = None
    cause: str | None = None
    states: list[str] = field(default_factory=list)  # states entered, in order (repeats kept)
    output: Any = None
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0  # start to stop, on the sandbox clock (a timed-out review: the whole timeout)

    @property
    def reason(self) -> str:
        """The error and a readable cause: a Lambda error's message, else the cause text."""
        if not self.error:
            return ""
        return f"{self.error}: {readable_cause(self.cause)}" if self.cause else self.error

    def entered(self, state: str) -> bool:
        return state in self.states

    def events(self, event_type: str) -> list[dict[str, Any]]:
        return [e for e in self.history if e["type"] == event_type]


class Runner:
    def __init__(self, sandbox: Any) -> None:
        self._sandbox = sandbox
        self._sfn = sandbox.client("stepfunctions")
        self.state_machine_arn = sandbox.outputs["StateMachineArn"]

    def execution_arn(self, order_id: str) -> str:
        return execution_arn(self.state_machine_arn, order_id)

    def start(self, order: Mapping[str, Any]) -> str:
        """Start one order; the execution is named by its orderId (a fallback name if it has none)."""
        order_id = order.get("orderId") if isinstance(order.get("orderId"), str) else None
        name = order_id or f"no-order-id-{time.monotonic_ns()}"
        response = self._sfn.start_execution(stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(order))
        return response["executionArn"]

    def status(self, execution_arn: str) -> str:
        return self._sfn.describe_execution(executionArn=execution_arn)["status"]

    def running(self) -> set[str]:
        """ARNs of this state machine's running executions (one paginated call, not one per execution)."""
        arns: set[str] = set()
        for page in self._sfn.get_paginator("list_executions").paginate(
            stateMachineArn=self.state_machine_arn, statusFilter="RUNNING"
        ):
            arns.update(e["executionArn"] for e in page["executions"])
        return arns

    def wait(
        self,
        execution_arns: Iterable[str],
        timeout: float = 60.0,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Wait until every execution is terminal; `progress(finished, total)` after each look."""
        arns = set(execution_arns)
        deadline = time.monotonic() + timeout
        while True:
            pending = arns & self.running()
            if progress:
                progress(len(arns) - len(pending), len(arns))
            if not pending:
                return
            if time.monotonic() > deadline:
                raise RunnerTimeout(f"still running after {timeout}s: {sorted(pending)}")
            time.sleep(WAIT_POLL_SECONDS)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            page = self._sfn.get_execution_history(**kwargs)
            events.extend(page["events"])
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]

    def result(self, execution_arn: str) -> OrderResult:
        described = self._sfn.describe_execution(executionArn=execution_arn)
        history = self.history(execution_arn)
        states = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
        stopped = described.get("stopDate")
        output = json.loads(described["output"]) if described.get("output") else None
        return OrderResult(
            order_id=described["name"],
            execution_arn=execution_arn,
            status=described["status"],
            error=described.get("error"),
            cause=described.get("cause"),
            states=states,
            output=output,
            history=history,
            seconds=(stopped - described["startDate"]).total_seconds() if stopped else 0.0,
        )

    def run(self, orders: Iterable[Mapping[str, Any]], timeout: float = 60.0) -> list[OrderResult]:
        """Start every order at once, wait for all, let the subscribers finish, read the results."""
        arns = [self.start(order) for order in orders]
        self.wait(arns, timeout)
        self._sandbox.drain(timeout)
        return [self.result(arn) for arn in arns]

    def wait_for_task_token(self, order_id: str, state: str = "WaitForPaymentReview", timeout: float = 30.0) -> None:
        """Wait until the execution sleeps in the callback `state` (its token handed out)."""
        arn = self.execution_arn(order_id)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            history = self.history(arn)
            current = None
            for event in history:
                if "stateEnteredEventDetails" in event:
                    current = event["stateEnteredEventDetails"]["name"]
                elif current == state and event["type"] == "TaskSubmitted":
                    return
            if self.status(arn) in TERMINAL:
                raise RunnerTimeout(f"{order_id} ended ({self.status(arn)}) without waiting in {state}")
            time.sleep(POLL_SECONDS)
        raise RunnerTimeout(f"{order_id} did not reach {state} within {timeout}s")

    def decide_review(self, order_id: str, decision: str, reviewer: str, note: str | None = None) -> Any:
        """A reviewer's decision, made the way a person makes it: invoking decide_payment_review."""
        payload = decision_payload(self._sandbox, order_id, decision, reviewer, note)
        response, function_error = self._sandbox.invoke(constants.REVIEW_DECISION_HANDLER, payload)
        if function_error:
            raise RuntimeError(f"decide_payment_review failed for {order_id}: {response}")
        return response
