"""Handlers for the moto-fix tests: the sandbox imports them by path like any deployed function."""

from __future__ import annotations

import os
from typing import Any

from lambdas.shared.errors import OutOfStock

tokens: list[str] = []


def echo(event: Any, context: Any) -> dict[str, Any]:
    return {"event": event, "greeting": os.environ.get("GREETING"), "function": context.function_name}


def fail(event: Any, context: Any) -> None:
    raise OutOfStock("MUG-BLUE: 0 available")


def keep_token(event: Any, context: Any) -> dict[str, Any]:
    tokens.append(event["token"])
    return {}
