"""The logistics subscriber's table: one shipment record per order (``pk = ORDER#<orderId>``, ``sk = SHIPMENT``).

``refused`` (carriers that said no), ``uncertain`` (a carrier whose answer was lost), then ``BOOKED`` with the
carrier and tracking number, then ``PUBLISHED`` once ShipmentAssigned went out. Each step is one update.
"""

from __future__ import annotations

from typing import Any, Final

from lambdas.shared import constants
from lambdas.shared.adapters.dynamo import integers

_PK, _SK = constants.SUBSCRIBER_TABLE_KEYS
_TTL = constants.MARKER_TTL_ATTRIBUTE

SHIPMENT_SK: Final = "SHIPMENT"
BOOKED: Final = "BOOKED"
PUBLISHED: Final = "PUBLISHED"


def _key(order_id: str) -> dict[str, str]:
    return {_PK: f"ORDER#{order_id}", _SK: SHIPMENT_SK}


def get(dynamo_table: Any, order_id: str) -> dict[str, Any]:
    """The order's record, its numbers as int (a booked shipment is published again as it was first)."""
    return dict(integers(dynamo_table.get_item(Key=_key(order_id), ConsistentRead=True).get("Item") or {}))


def _set(dynamo_table: Any, order_id: str, expires_at: int, values: dict[str, Any], add_refused: str = "") -> None:
    names = {f"#{k}": k for k in values} | {"#e": _TTL}
    expression = "SET " + ", ".join(f"#{k} = :{k}" for k in values) + ", #e = :e"
    attribute_values: dict[str, Any] = {f":{k}": v for k, v in values.items()} | {":e": expires_at}
    if add_refused:
        expression += " ADD refused :r"
        attribute_values[":r"] = {add_refused}
    dynamo_table.update_item(
        Key=_key(order_id),
        UpdateExpression=expression,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=attribute_values,
    )


def mark_refused(dynamo_table: Any, order_id: str, carrier: str, expires_at: int) -> None:
    _set(dynamo_table, order_id, expires_at, {"lastRefusal": carrier}, add_refused=carrier)


def mark_uncertain(dynamo_table: Any, order_id: str, carrier: str, expires_at: int) -> None:
    _set(dynamo_table, order_id, expires_at, {"uncertain": carrier})


def mark_booked(dynamo_table: Any, order_id: str, shipment: dict[str, Any], expires_at: int) -> None:
    _set(dynamo_table, order_id, expires_at, {"status": BOOKED, "shipment": shipment, "uncertain": None})


def mark_published(dynamo_table: Any, order_id: str, expires_at: int) -> None:
    _set(dynamo_table, order_id, expires_at, {"status": PUBLISHED})
