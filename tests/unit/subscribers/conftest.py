"""Fixtures for the subscribers: their own table in moto, the environment the stack sets, delivery."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from lambdas.shared import constants
from tests.conftest import create_table, lambda_context

MARKER_TTL_DAYS = 120


def deliver(handler: Callable[[dict[str, Any], Any], Any], event: dict[str, Any]) -> Any:
    """One EventBridge delivery of ``event`` to ``handler`` (call it again for a redelivery)."""
    return handler(event, lambda_context("subscriber"))


@pytest.fixture
def subscriber_table(aws: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The subscriber's own table (same keys as the stack creates), named in the environment."""
    table = create_table("test-subscriber", constants.SUBSCRIBER_TABLE_KEYS)
    monkeypatch.setenv(constants.ENV_SUBSCRIBER_TABLE, "test-subscriber")
    monkeypatch.setenv(constants.ENV_MARKER_TTL_DAYS, str(MARKER_TTL_DAYS))
    return table


def all_items(table: Any) -> list[dict[str, Any]]:
    return boto3.resource("dynamodb").Table(table.name).scan(ConsistentRead=True)["Items"]
