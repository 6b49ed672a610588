"""What the moto fix tests build: stacks, functions, state machines and executions in a sandbox account."""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

from sandbox.account import ACCOUNT_ID, Sandbox

HANDLERS = "tests.sandbox.handlers"
ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/fixture"


def deploy_stack(sandbox: Sandbox, resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> dict[str, str]:
    name = f"fix-{uuid.uuid4().hex[:8]}"
    template = {"Resources": resources, "Outputs": {k: {"Value": v} for k, v in (outputs or {}).items()}}
    cloudformation = sandbox.client("cloudformation")
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def create_function(sandbox: Sandbox, handler: str, **extra: Any) -> str:
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "")
    name = f"fn-{uuid.uuid4().hex[:8]}"
    sandbox.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=ROLE,
        Handler=f"{HANDLERS}.{handler}",
        Code={"ZipFile": code.getvalue()},
        **extra,
    )
    return name


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:eu-west-1:{ACCOUNT_ID}:function:{name}"


def create_machine(sandbox: Sandbox, definition: dict[str, Any]) -> str:
    return sandbox.client("stepfunctions").create_state_machine(
        name=f"sm-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]


def run_machine(sandbox: Sandbox, machine: str, payload: Any = None) -> str:
    return sandbox.client("stepfunctions").start_execution(
        stateMachineArn=machine, name=f"ex-{uuid.uuid4().hex[:8]}", input=json.dumps(payload or {})
    )["executionArn"]


def wait_for(sandbox: Sandbox, arn: str, timeout: float = 20.0) -> dict[str, Any]:
    sfn = sandbox.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{arn} still running"
        time.sleep(0.02)
    return described


def timed(action: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = action()
    return result, time.monotonic() - started
