"""Handlers for the moto-fix tests: the sandbox imports them by path like any deployed function."""

from __future__ import annotations

import os
import threading
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


# until_fixed: fails (as a broken dependency would) until `fixed` is set, then waits for `release`.
fixed = threading.Event()
release = threading.Event()


def until_fixed(event: Any, context: Any) -> dict[str, Any]:
    if not fixed.is_set():
        raise OutOfStock("the dependency is still broken")
    release.wait(10)
    return {"seen": event}
