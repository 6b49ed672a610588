"""Why orders fail: failed orders per day x named error (Order.OutOfStock, Order.PaymentDeclined, ...)."""

from __future__ import annotations

from typing import Any


def failure_counter(data: dict[str, Any], day: str) -> tuple[str, str]:
    """The (pk, sk) of the counter one OrderFailed adds to."""
    return f"DAY#{day}", f"ERROR#{data.get('error') or 'unknown'}"
