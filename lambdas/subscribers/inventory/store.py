"""The inventory subscriber's own table (its forecast): units sold per SKU x warehouse x day, and its markers.

Items (pk / sk): ``SALES#<sku>#<warehouseId>`` / ``DAY#<yyyy-mm-dd>`` {units};
``ORDER#<orderId>`` / ``SALES`` {status RECORDED | DONE}: the order's sales are counted (and its
reorder check finished); ``REORDER#<sku>#<warehouseId>`` / ``DAY#<day>`` {orderId, publishedAt?}: the one
ReorderSuggested of that day, claimed by the order that triggered it, and whether it went out (so the
retry of a run that failed after publishing does not publish it again).
Every function takes the table's DynamoDB ``Table`` resource.
"""

from __future__ import annotations

from typing import Any

from lambdas.shared import constants
from lambdas.shared.adapters.dynamo import Increment, add_once, put_if, query_all

_PK, _SK = constants.SUBSCRIBER_TABLE_KEYS
_TTL = constants.MARKER_TTL_ATTRIBUTE

RECORDED = "RECORDED"
DONE = "DONE"


def _order_key(order_id: str) -> dict[str, str]:
    return {_PK: f"ORDER#{order_id}", _SK: "SALES"}


def _day_sk(day: str) -> str:
    return f"DAY#{day}"


def record_sales(
    dynamo_table: Any, order_id: str, warehouse_id: str, units_by_sku: dict[str, int], day: str, expires_at: int
) -> bool:
    """Count the order's units once; False when an earlier delivery already did."""
    marker = {**_order_key(order_id), "status": RECORDED, _TTL: expires_at}
    increments = [
        Increment(key={_PK: f"SALES#{sku}#{warehouse_id}", _SK: _day_sk(day)}, add={"units": units})
        for sku, units in units_by_sku.items()
    ]
    return add_once(dynamo_table, marker, increments)


def is_done(dynamo_table: Any, order_id: str) -> bool:
    item = dynamo_table.get_item(Key=_order_key(order_id), ConsistentRead=True).get("Item")
    return bool(item) and item.get("status") == DONE


def mark_done(dynamo_table: Any, order_id: str) -> None:
    dynamo_table.update_item(
        Key=_order_key(order_id),
        UpdateExpression="SET #s = :done",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":done": DONE},
    )


def daily_units(dynamo_table: Any, sku: str, warehouse_id: str, first_day: str, last_day: str) -> dict[str, int]:
    """{day: units sold} for the days in [first_day, last_day] that had sales."""
    items = query_all(dynamo_table, f"SALES#{sku}#{warehouse_id}", sk_between=(_day_sk(first_day), _day_sk(last_day)))
    return {item[_SK].removeprefix("DAY#"): int(item["units"]) for item in items}


def _suggestion_key(sku: str, warehouse_id: str, day: str) -> dict[str, str]:
    return {_PK: f"REORDER#{sku}#{warehouse_id}", _SK: _day_sk(day)}


def claim_suggestion(dynamo_table: Any, sku: str, warehouse_id: str, day: str, order_id: str, expires_at: int) -> bool:
    """Whether this order may publish the day's suggestion: the first claim wins, and its own retry may
    too until ``mark_suggestion_published`` recorded that it went out."""
    item = {**_suggestion_key(sku, warehouse_id, day), "orderId": order_id, _TTL: expires_at}
    condition = f"attribute_not_exists({_PK}) OR (orderId = :o AND attribute_not_exists(publishedAt))"
    return put_if(dynamo_table, item, condition, {":o": order_id})


def mark_suggestion_published(dynamo_table: Any, sku: str, warehouse_id: str, day: str, published_at: str) -> None:
    dynamo_table.update_item(
        Key=_suggestion_key(sku, warehouse_id, day),
        UpdateExpression="SET publishedAt = :t",
        ExpressionAttributeValues={":t": published_at},
    )
