"""Typed settings: what a function reads from its environment, once per container (its cold start).

Each function declares a frozen dataclass of its own (every subscriber the one in
lambdas/subscribers/settings.py) and reads it through a cached ``settings()`` function: the first invocation
parses the environment the stack set, later ones reuse the object. (Cached on first use, not at import: the
sandbox imports handlers before it overlays a function's environment, and forgets these caches when it starts
cold.) A missing or invalid variable is a ``SettingError`` that names it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


def cold_start(read: Callable[[], T], module: str) -> Callable[[], T]:
    """``read`` once per container, at its first call: ``settings = cold_start(X.from_env, __name__)``.

    The cache belongs to the handler module ``module`` (each function its own, though the sandbox runs them
    in one process), and is forgotten with that module's other caches when the sandbox starts cold.
    """
    cached = cache(read)
    cached.__module__ = module
    return cached


class SettingError(RuntimeError):
    """An environment variable the stack sets is missing or invalid (the message names it)."""


def text(name: str) -> str:
    """A required, non-empty environment variable."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise SettingError(f"environment variable {name} is not set (the stack sets it)")
    return value


def positive_int(name: str) -> int:
    raw = text(name)
    if not raw.isdigit() or int(raw) <= 0:
        raise SettingError(f"environment variable {name} must be a positive integer, not {raw!r}")
    return int(raw)


def json_value(name: str, default: Any = None) -> Any:
    """A JSON environment variable; ``default`` when it is unset (None: required)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        if default is None:
            raise SettingError(f"environment variable {name} is not set (the stack sets it)")
        return default
    try:
        return json.loads(raw)
    except ValueError as error:
        raise SettingError(f"environment variable {name} is not valid JSON: {error}") from None
