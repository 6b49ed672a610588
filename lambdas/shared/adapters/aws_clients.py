"""boto3 clients and resources, created once per container and reused by every invocation.

boto3 itself honours AWS_ENDPOINT_URL, so the same code talks to the offline sandbox server.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)


@cache
def client(service: str) -> Any:
    return boto3.client(service, config=_CONFIG)


@cache
def table(name: str) -> Any:
    """A DynamoDB Table resource (cached per table name)."""
    return boto3.resource("dynamodb", config=_CONFIG).Table(name)


def env(name: str) -> str:
    """A required environment variable, read at call time (the sandbox overlays it per function)."""
    try:
        return os.environ[name]
    except KeyError:
        raise RuntimeError(f"environment variable {name} is not set (the stack sets it)") from None
