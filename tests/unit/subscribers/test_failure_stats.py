"""Failure stats: failed orders per day x error, counted once per order."""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.shared import constants
from lambdas.subscribers.failure_stats import handler as failure_stats_handler
from tests.contract.samples import lambda_event, order_failed
from tests.unit.subscribers.conftest import all_items, deliver, deliver_async, fail_once


def test_failures_are_counted_per_day_and_error_once_per_order(subscriber_table: Any) -> None:
    out_of_stock = order_failed(constants.ERROR_OUT_OF_STOCK)
    assert deliver(failure_stats_handler.handler, out_of_stock)["counted"] is True
    assert deliver(failure_stats_handler.handler, out_of_stock)["counted"] is False  # redelivery
    assert deliver(failure_stats_handler.handler, {**out_of_stock, "id": "replayed"})["counted"] is False
    other = order_failed(constants.ERROR_PAYMENT_DECLINED)
    other["detail"]["data"]["orderId"] = "ord-2"
    deliver(failure_stats_handler.handler, other)

    counters = {(i["sk"]): int(i["orders"]) for i in all_items(subscriber_table) if i["pk"] == "DAY#2026-11-20"}
    assert counters == {"ERROR#Order.OutOfStock": 1, "ERROR#Order.PaymentDeclined": 1}


def test_a_run_that_fails_after_its_count_landed_is_retried_without_counting_again(
    subscriber_table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = {"orderId": "ord-9", "customerId": "c-1", "error": constants.ERROR_OUT_OF_STOCK, "cause": "short"}
    event = lambda_event(constants.EVENT_ORDER_FAILED, data, "ord-9", "order-workflow")
    fail_once(monkeypatch, failure_stats_handler, "count_delivery")  # after the marker + counter transaction
    outcome = deliver_async(failure_stats_handler.handler, event)
    assert outcome.error_names == ["Crash"] and outcome.result == {"orderId": "ord-9", "counted": False}
    counters = {i["sk"]: int(i["orders"]) for i in all_items(subscriber_table) if i["pk"].startswith("DAY#")}
    assert counters == {"ERROR#Order.OutOfStock": 1}
