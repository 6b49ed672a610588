"""The analytics subscriber's table: once-per-order sales counters and the day-range read behind the report.

Every function takes the DynamoDB ``Table`` resource (the function's, or a tool's own: orderctl, the sandbox).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from lambdas.shared import constants
from lambdas.shared.adapters.dynamo import Increment, add_once, query_all
from lambdas.subscribers.analytics.logic import SalesReport, by_channel, compare_variants, currency_of, day_pk, days

_PK, _SK = constants.SUBSCRIBER_TABLE_KEYS
_TTL = constants.MARKER_TTL_ATTRIBUTE


def record_order(
    dynamo_table: Any, order_id: str, counters: dict[tuple[str, str], dict[str, int]], currency: str, expires_at: int
) -> bool:
    """Apply one order's counters unless this order was counted before; False for a redelivery."""
    marker = {_PK: f"ORDER#{order_id}", _SK: "COUNTED", _TTL: expires_at}
    increments = [
        Increment(key={_PK: pk, _SK: sk}, add=dict(adds), set_once={"currency": currency})
        for (pk, sk), adds in counters.items()
    ]
    return add_once(dynamo_table, marker, increments)


def counter_rows(dynamo_table: Any, day_pks: Iterable[str]) -> list[dict[str, Any]]:
    """Every counter (variant and channel) of the given days (one query per day)."""
    return [row for pk in day_pks for row in query_all(dynamo_table, pk)]


def sales_report(
    dynamo_table: Any,
    first: date,
    last: date,
    sku: str | None = None,
    baseline: str = "control",
    traffic_split: dict[str, float] | None = None,
) -> SalesReport:
    """The one way to read sales by site variant and by channel: the counters of the UTC days
    ``first``..``last``, compared (`orderctl sales`, the sandbox and bench call it)."""
    rows = counter_rows(dynamo_table, [day_pk(d) for d in days(first, last)])
    return SalesReport(currency_of(rows), compare_variants(rows, baseline, sku, traffic_split), by_channel(rows))
