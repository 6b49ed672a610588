"""Lambda fixes (sandbox/moto_fixes/awslambda.py): moto is still broken without each, and it works."""

from __future__ import annotations

import json
from typing import Any

from sandbox.account import ACCOUNT_ID, Sandbox
from sandbox.moto_fixes import suspended
from tests.sandbox.moto_fixes.support import (
    create_function,
)


def _invoke(sandbox: Sandbox, name: str, payload: Any) -> tuple[Any, str | None]:
    response = sandbox.client("lambda").invoke(FunctionName=name, Payload=json.dumps(payload).encode())
    body = response["Payload"].read().decode()
    return (json.loads(body) if body.startswith(("{", "[", '"')) else body), response.get("FunctionError")


def test_lambda_in_process_without_fix(account: Sandbox) -> None:
    name = create_function(account, "echo")
    with suspended("lambda-in-process"):
        payload, error = _invoke(account, name, {"a": 1})
    assert error and "docker" in str(payload).lower()


def test_lambda_in_process_with_fix(account: Sandbox) -> None:
    name = create_function(account, "echo", Environment={"Variables": {"GREETING": "hi"}})
    payload, error = _invoke(account, name, {"a": 1})
    assert error is None and payload == {"event": {"a": 1}, "greeting": "hi", "function": name}
    failure, error = _invoke(account, create_function(account, "fail"), {})
    assert error and failure["errorType"] == "Order.OutOfStock" and "0 available" in failure["errorMessage"]
    assert failure["stackTrace"]
    missing, error = _invoke(account, create_function(account, "no_such_handler"), {})
    assert error and missing["errorType"] == "Runtime.ImportModuleError"


def test_lambda_dead_letter_config_without_fix(account: Sandbox) -> None:
    from moto.awslambda.models import lambda_backends

    with suspended("lambda-dead-letter-config"):
        name = create_function(account, "echo", DeadLetterConfig={"TargetArn": "arn:aws:sqs:eu-west-1:1:q"})
    assert not hasattr(lambda_backends[ACCOUNT_ID]["eu-west-1"].get_function(name), "dead_letter_config")


def test_lambda_dead_letter_config_with_fix(account: Sandbox) -> None:
    from moto.awslambda.models import lambda_backends

    name = create_function(account, "echo", DeadLetterConfig={"TargetArn": "arn:aws:sqs:eu-west-1:1:q"})
    function = lambda_backends[ACCOUNT_ID]["eu-west-1"].get_function(name)
    assert function.dead_letter_config == {"TargetArn": "arn:aws:sqs:eu-west-1:1:q"}
