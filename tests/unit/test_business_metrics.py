"""Business metrics (Powertools, EMF on stdout): orders completed and revenue, reviews requested."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from infra.names import ENV_POWERTOOLS_NAMESPACE
from lambdas.record_accounting import handler as accounting_handler
from lambdas.shared import constants
from lambdas.wait_for_payment_review import handler as request_handler
from tests.unit.payment_support import PRICING, accounting_event, capture_bus, invoke


def emitted_metrics(output: str) -> dict[str, float]:
    """Every metric value the handler's EMF lines carry, by name."""
    values: dict[str, float] = {}
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            # The stage's namespace, which the stack puts in the function's environment (tests/conftest.py here).
            assert directive["Namespace"] == os.environ[ENV_POWERTOOLS_NAMESPACE]
            for metric in directive["Metrics"]:
                values[metric["Name"]] = sum(document[metric["Name"]])
    return values


def test_a_booked_sale_counts_one_completed_order_and_its_revenue(
    tables: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    invoke(accounting_handler.handler, accounting_event())
    assert emitted_metrics(capsys.readouterr().out) == {
        constants.METRIC_ORDERS_COMPLETED: 1,
        constants.METRIC_REVENUE_CENTS: PRICING["totalCents"],
    }


def test_a_refused_sale_counts_nothing(tables: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(Exception):  # noqa: B017 - the handler's own tests name the error
        invoke(accounting_handler.handler, accounting_event(totalCents=1))
    assert emitted_metrics(capsys.readouterr().out) == {}


def test_a_parked_review_counts_one_review_requested(
    tables: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    capture_bus(monkeypatch)
    tables[constants.ENV_PAYMENTS_TABLE].put_item(
        Item={"orderId": "ord-1", "status": "REVIEW_PENDING", "amountCents": 150000, "currency": "EUR"}
    )
    event = {
        "orderId": "ord-1",
        "customerId": "cust-1",
        "amountCents": 150000,
        "currency": "EUR",
        "channel": "web",  # the workflow passes the order's channel (ValidateOrder sets it)
        "taskToken": "token-1",
        "timeoutSeconds": 3600,
    }
    invoke(request_handler.handler, event)
    assert emitted_metrics(capsys.readouterr().out) == {constants.METRIC_REVIEWS_REQUESTED: 1}
