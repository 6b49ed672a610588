"""Analytics table: once-per-order sales counters and the day-range read behind the variant report."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lambdas.shared.adapters.dynamo import Increment, add_once, query_all


def record_order(
    table_name: str, order_id: str, counters: dict[tuple[str, str], dict[str, int]], currency: str, expires_at: int
) -> bool:
    """Apply one order's counters unless this order was counted before; False for a redelivery."""
    marker = {"pk": f"ORDER#{order_id}", "sk": "COUNTED", "expiresAt": expires_at}
    increments = [
        Increment(key={"pk": pk, "sk": sk}, add=dict(adds), set_once={"currency": currency})
        for (pk, sk), adds in counters.items()
    ]
    return add_once(table_name, marker, increments)


def counter_rows(table_name: str, day_pks: Iterable[str]) -> list[dict[str, Any]]:
    """Every variant counter of the given days (one query per day)."""
    return [row for pk in day_pks for row in query_all(table_name, pk, "VARIANT#")]
