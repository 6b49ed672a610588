"""`python -m sandbox serve`, driven from another process with boto3 and --endpoint-url only."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from lambdas.shared import constants
from sandbox.server import EXAMPLE_ORDER

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def endpoint(cdk_out: Path) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--cdk-out", str(cdk_out), "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "is serving on" in line:
                break
        else:
            pytest.fail("the server did not start:\n" + "".join(lines))
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def _client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="eu-west-1",
        aws_access_key_id="any",
        aws_secret_access_key="any",
    )


def _outputs(endpoint: str) -> dict[str, str]:
    stack = _client(endpoint, "cloudformation").describe_stacks(StackName=constants.STACK_NAME)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def _wait(endpoint: str, arn: str, timeout: float = 60) -> dict[str, Any]:
    sfn = _client(endpoint, "stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.1)
    pytest.fail(f"{arn} still running")


def _states(endpoint: str, arn: str) -> list[str]:
    events = _client(endpoint, "stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def test_an_order_runs_end_to_end_through_the_endpoint(endpoint: str) -> None:
    outputs = _outputs(endpoint)
    sfn = _client(endpoint, "stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=outputs["StateMachineArn"], name=EXAMPLE_ORDER["orderId"], input=json.dumps(EXAMPLE_ORDER)
    )["executionArn"]
    assert _wait(endpoint, arn)["status"] == "SUCCEEDED"
    assert _states(endpoint, arn)[-1] == "PublishOrderCompleted"
    payment = _client(endpoint, "dynamodb").get_item(
        TableName=outputs["PaymentsTableName"], Key={"orderId": {"S": EXAMPLE_ORDER["orderId"]}}
    )
    assert payment["Item"]["status"]["S"] == "APPROVED"


def test_a_review_times_out_when_the_clock_is_advanced(endpoint: str) -> None:
    outputs = _outputs(endpoint)
    order = {**EXAMPLE_ORDER, "orderId": "ord-review", "payment": {"method": "card", "token": "tok_review_serve"}}
    sfn = _client(endpoint, "stepfunctions")
    machine = outputs["StateMachineArn"]
    started = sfn.start_execution(stateMachineArn=machine, name="ord-review", input=json.dumps(order))
    arn = started["executionArn"]
    deadline = time.monotonic() + 30
    while "WaitForPaymentReview" not in _states(endpoint, arn):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(0.5)
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    request = urllib.request.Request(f"{endpoint}/_sandbox/clock/advance?seconds=259201", method="POST")
    with urllib.request.urlopen(request) as response:
        assert json.loads(response.read())["clockOffsetSeconds"] >= 259200
    described = _wait(endpoint, arn)
    assert (described["status"], described["error"]) == ("FAILED", constants.ERROR_REVIEW_TIMED_OUT)
