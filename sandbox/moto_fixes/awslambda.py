"""Lambda: every invocation runs its handler in-process (no Docker); a function keeps its DeadLetterConfig."""

from __future__ import annotations

from typing import Any

from sandbox.moto_fixes.base import hooks, original, register


def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
    if hooks.invoke is None:
        raise RuntimeError("lambda-in-process: no sandbox is running (sandbox.moto_fixes.hooks.invoke unset)")
    return hooks.invoke(self, event)


register(
    "lambda-in-process",
    "Without Docker moto runs no Lambda code: every invoke answers 'error running docker'. Every invoke "
    "path (API, Step Functions, EventBridge) goes through LambdaFunction._invoke_lambda.",
    {("moto.awslambda.models:LambdaFunction", "_invoke_lambda"): _invoke_lambda},
)


def _lambda_init(self: Any, account_id: str, spec: dict[str, Any], region: str, version: Any = 1) -> None:
    original("lambda-dead-letter-config")(self, account_id, spec, region, version)
    self.dead_letter_config = spec.get("DeadLetterConfig") or {}


register(
    "lambda-dead-letter-config",
    "A function's DeadLetterConfig (where Lambda sends an async event whose retries are exhausted) is "
    "dropped: it is neither stored nor returned by GetFunctionConfiguration.",
    {("moto.awslambda.models:LambdaFunction", "__init__"): _lambda_init},
)
