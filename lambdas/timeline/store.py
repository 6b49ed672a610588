"""The timeline table: one partition per order (``ORDER#<id>``), an item per step of each delivery,
kept ``logic.TTL_DAYS`` (DynamoDB's TTL on ``expiresAt``).

Subscribers may only PutItem and UpdateItem (the failure counter); the order API may only Query.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from lambdas.shared import constants
from lambdas.shared.adapters.dynamo import query_all
from lambdas.timeline import logic

_TTL = constants.MARKER_TTL_ATTRIBUTE

# The stack gives the table's name to every subscriber and to the order API.
ENV_TIMELINE_TABLE: Final = "TIMELINE_TABLE"
# The stack output orderctl reads the table's name from.
TIMELINE_TABLE_OUTPUT: Final = "TimelineTableName"
# Every function may write; the subscribers' roles are granted these and nothing else on the table.
WRITE_ACTIONS: Final = ("dynamodb:PutItem", "dynamodb:UpdateItem")
READ_ACTIONS: Final = ("dynamodb:Query",)


def put(dynamo_table: Any, item: Mapping[str, Any]) -> None:
    dynamo_table.put_item(Item=dict(item))


def count_failure(dynamo_table: Any, order_id: str, subscriber: str, event_id: str, expires_at: int) -> int:
    """One more failed run of this event by this subscriber: how many there have been."""
    response = dynamo_table.update_item(
        Key=logic.failure_key(order_id, subscriber, event_id),
        UpdateExpression="ADD failures :one SET #ttl = :expires",
        ExpressionAttributeNames={"#ttl": _TTL},
        ExpressionAttributeValues={":one": 1, ":expires": expires_at},
        ReturnValues="UPDATED_NEW",
    )
    return int(response["Attributes"]["failures"])


def order_items(dynamo_table: Any, order_id: str) -> list[dict[str, Any]]:
    """Every item of one order, in sort-key (time) order."""
    return list(query_all(dynamo_table, logic.ORDER_PREFIX + order_id))
