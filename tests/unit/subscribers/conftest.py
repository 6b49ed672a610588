"""Fixtures for the subscribers: their own table in moto, the environment the stack sets, delivery."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from lambdas.shared import constants
from lambdas.shared.adapters.ledger import transaction_key
from lambdas.shared.ledger import SALE
from lambdas.subscribers.trust import claims_a_sale
from sandbox.events import ASYNC_RETRY_DELAYS_SECONDS
from tests.conftest import create_table, lambda_context

MARKER_TTL_DAYS = 120
Handler = Callable[[dict[str, Any], Any], Any]


def deliver(handler: Handler, event: dict[str, Any], request_id: str | None = None) -> Any:
    """One EventBridge delivery of ``event`` to ``handler`` (call it again for a redelivery). An OrderCompleted's
    sale is in the ledger first, as the workflow records it before it publishes (tests/unit/subscribers/
    test_entry_point.py delivers forged ones without)."""
    order_id = claims_a_sale(event)
    if order_id:
        record_sale(order_id)
    context = lambda_context("subscriber")
    if request_id is not None:
        context.aws_request_id = request_id
    return handler(event, context)


@dataclass
class AsyncOutcome:
    """What Lambda made of one asynchronous invocation: each attempt's result or error."""

    errors: list[BaseException] = field(default_factory=list)
    result: Any = None
    succeeded: bool = False

    @property
    def dead_lettered(self) -> bool:
        """Every attempt failed: Lambda sends the event to the function's on-failure destination."""
        return not self.succeeded

    @property
    def error_names(self) -> list[str]:
        return [type(error).__name__ for error in self.errors]


def deliver_async(
    handler: Handler,
    event: dict[str, Any],
    request_id: str = "async-invocation-1",
    wait: Callable[[float], None] = lambda seconds: None,
) -> AsyncOutcome:
    """One asynchronous invocation as Lambda runs it for EventBridge: the first run, then a retry of a run
    that raised after each of ``ASYNC_RETRY_DELAYS_SECONDS`` (``wait`` lets that time pass), up to the
    stack's retry attempts; when they are spent the event goes to the dead-letter queue."""
    outcome = AsyncOutcome()
    for attempt in range(1 + constants.SUBSCRIBER_ASYNC_RETRY_ATTEMPTS):
        if attempt:
            wait(ASYNC_RETRY_DELAYS_SECONDS[min(attempt, len(ASYNC_RETRY_DELAYS_SECONDS)) - 1])
        try:
            outcome.result = deliver(handler, event, request_id)
        except Exception as error:  # the run failed: Lambda retries it
            outcome.errors.append(error)
            continue
        outcome.succeeded = True
        break
    return outcome


class Crash(RuntimeError):
    """A run that fails midway (a bug, the platform killing it): injected by ``fail_once``."""


def fail_once(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[int]:
    """Make ``module.name`` raise ``Crash`` on its first call, then work; returns its call count."""
    real, calls = getattr(module, name), [0]

    def crashing(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == 1:
            raise Crash(f"{name} crashed")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, crashing)
    return calls


def record_sale(order_id: str) -> None:
    """The order's sale in the ledger, as RecordAccounting writes it (the entry point checks it is there)."""
    ledger = boto3.resource("dynamodb").Table(os.environ[constants.ENV_LEDGER_TABLE])
    ledger.put_item(Item={**transaction_key(order_id, SALE), "orderId": order_id, "kind": SALE, "entries": []})


@pytest.fixture
def subscriber_table(aws: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The subscriber's own table (same keys as the stack creates), named in the environment, and the
    ledger the entry point reads (the project's, if the test has the `tables` fixture too)."""
    table = create_table("test-subscriber", constants.SUBSCRIBER_TABLE_KEYS)
    monkeypatch.setenv(constants.ENV_SUBSCRIBER_TABLE, "test-subscriber")
    monkeypatch.setenv(constants.ENV_MARKER_TTL_DAYS, str(MARKER_TTL_DAYS))
    if not os.environ.get(constants.ENV_LEDGER_TABLE):
        create_table("test-subscriber-ledger", constants.LEDGER_TABLE_KEYS)
        monkeypatch.setenv(constants.ENV_LEDGER_TABLE, "test-subscriber-ledger")
    return table


def all_items(table: Any) -> list[dict[str, Any]]:
    return boto3.resource("dynamodb").Table(table.name).scan(ConsistentRead=True)["Items"]
