"""Failure stats: failed orders per day x error, counted once per order."""

from __future__ import annotations

from typing import Any

from lambdas.shared import constants
from lambdas.subscribers.failure_stats import handler as failure_stats_handler
from tests.contract.samples import order_failed
from tests.unit.subscribers.conftest import all_items, deliver


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
