"""Helpers for the orderctl tests."""

from __future__ import annotations

import time
from typing import Any

from tests.orderctl.conftest import Orderctl


def settle(orderctl: Orderctl, order_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """The order's status (JSON) once it is no longer RUNNING."""
    deadline = time.monotonic() + timeout
    while True:
        status = orderctl.data("status", order_id)
        if status["status"] != "RUNNING":
            return status
        assert time.monotonic() < deadline, f"{order_id} still RUNNING in {status['currentState']}"
        time.sleep(0.1)


def waiting_ids(orderctl: Orderctl) -> list[str]:
    return [review["orderId"] for review in orderctl.data("reviews")]
