"""`python -m sandbox serve`, driven from another process with boto3 and --endpoint-url only."""

from __future__ import annotations

import json
import os
import shutil
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
from sandbox.account import Sandbox
from sandbox.deploy import DeployError
from sandbox.serve import EXAMPLE_ORDER
from tests.e2e.serving import serving
from tests.synth import synthesize

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def endpoint(cdk_out: Path) -> Iterator[str]:
    with serving(cdk_out) as (url, _):
        yield url


@pytest.fixture(scope="module")
def cdk_out_without_region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What a plain `npx cdk synth` writes when no region is configured (no AWS_REGION, AWS_DEFAULT_REGION or
    profile): the CLI gives the app CDK_DEFAULT_REGION=us-east-1, its fallback, and no account, so the stack's
    assets go to the us-east-1 bootstrap bucket (measured with aws-cdk 2.1148: manifest environment
    aws://unknown-account/us-east-1)."""
    with pytest.MonkeyPatch.context() as env:
        for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "CDK_DEFAULT_ACCOUNT"):
            env.delenv(name, raising=False)
        env.setenv("CDK_DEFAULT_REGION", "us-east-1")
        return synthesize(tmp_path_factory.mktemp("cdk.out-no-region")).outdir


def _client(endpoint: str, service: str, region: str = "eu-west-1") -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
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


def test_serve_deploys_a_template_synthesized_with_no_region_into_its_region(cdk_out_without_region: Path) -> None:
    with serving(cdk_out_without_region) as (url, printed):
        assert "region us-east-1" in printed, printed
        stack = _client(url, "cloudformation", "us-east-1").describe_stacks(StackName=constants.STACK_NAME)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        sfn = _client(url, "stepfunctions", "us-east-1")
        arn = sfn.start_execution(
            stateMachineArn=outputs["StateMachineArn"], name=EXAMPLE_ORDER["orderId"], input=json.dumps(EXAMPLE_ORDER)
        )["executionArn"]
        described = sfn.describe_execution(executionArn=arn)
        deadline = time.monotonic() + 60
        while described["status"] == "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.1)
            described = sfn.describe_execution(executionArn=arn)
        assert described["status"] == "SUCCEEDED", described


def test_a_sandbox_in_another_region_than_the_template_says_what_to_do(cdk_out_without_region: Path) -> None:
    with pytest.raises(DeployError) as refused, Sandbox(cdk_out_without_region, region="eu-west-1"):
        pass
    message = str(refused.value)
    assert "\n" not in message and "us-east-1" in message and "eu-west-1" in message, message


def test_a_template_synthesized_for_another_account_says_what_to_do(
    cdk_out_without_region: Path, tmp_path: Path
) -> None:
    """A `cdk synth` with a profile pins the stack to that account: its assets bucket is not the sandbox's."""
    pinned = tmp_path / "cdk.out"
    shutil.copytree(cdk_out_without_region, pinned)
    manifest = json.loads((pinned / "manifest.json").read_text())
    manifest["artifacts"][constants.STACK_NAME]["environment"] = "aws://111122223333/us-east-1"
    (pinned / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DeployError) as refused, Sandbox(pinned):
        pass
    message = str(refused.value)
    assert "\n" not in message and "111122223333" in message and "profile" in message, message


def test_the_commands_it_prints_run_as_printed_with_the_aws_cli(cdk_out: Path) -> None:
    """What a user pastes from the banner: the environment line, the AWS CLI's start-execution and the clock curl,
    run by bash with the project's AWS CLI and nothing of the test's own AWS_* environment."""
    with serving(cdk_out) as (url, printed):
        commands = [line.strip() for line in printed.split("\nTry", 1)[1].splitlines()[1:] if line.startswith("  ")]
        assert [c.split()[0] for c in commands] == ["export", "aws", "curl"], printed
        venv_bin = Path(sys.prefix) / "bin"  # the project's AWS CLI (requirements-dev.txt)
        env = {"PATH": f"{venv_bin}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}
        ran = subprocess.run(["bash", "-ec", "\n".join(commands)], env=env, capture_output=True, text=True, check=False)
        assert ran.returncode == 0, ran.stderr
        started, _ = json.JSONDecoder().raw_decode(ran.stdout)  # the CLI's answer, then curl's
        arn = str(started.get("executionArn", ""))
        assert arn.endswith(f":{EXAMPLE_ORDER['orderId']}"), ran.stdout
        assert _wait(url, arn)["status"] == "SUCCEEDED"
