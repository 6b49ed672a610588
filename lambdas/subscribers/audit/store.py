"""The audit subscriber's table: the hash chain's records, its head and one marker per recorded event.

Items (pk / sk): ``CHAIN`` / ``HEAD`` {seq, hash}; ``CHAIN`` / ``SEQ#<000000000042>`` the records;
``EVENT#<eventKey>`` / ``EVENT`` {seq}: the event is in the chain. An append writes all three in one
transaction conditioned on the head being unchanged, so concurrent appenders cannot fork the chain.
The subscriber's role may put and update but not delete (see infra/subscribers.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from lambdas.shared.adapters.dynamo import condition_failed, query_all, transact
from lambdas.subscribers.audit.logic import Head

CHAIN: Final = "CHAIN"
HEAD_KEY: Final = {"pk": CHAIN, "sk": "HEAD"}
_ABSENT: Final = "attribute_not_exists(pk)"


def record_key(seq: int) -> dict[str, str]:
    return {"pk": CHAIN, "sk": f"SEQ#{seq:012d}"}


def marker_key(event_key: str) -> dict[str, str]:
    return {"pk": f"EVENT#{event_key}", "sk": "EVENT"}


class AuditTable:
    """The AuditStore of lambdas.subscribers.audit.logic, on a DynamoDB ``Table`` resource (the function's,
    or a tool's own: orderctl, the sandbox)."""

    def __init__(self, dynamo_table: Any) -> None:
        self._table = dynamo_table

    @property
    def name(self) -> str:
        return str(self._table.name)

    def is_recorded(self, key: str) -> bool:
        return "Item" in self._table.get_item(Key=marker_key(key), ConsistentRead=True)

    def head(self) -> Head | None:
        item = self._table.get_item(Key=HEAD_KEY, ConsistentRead=True).get("Item")
        return Head(int(item["seq"]), item["hash"]) if item else None

    def append(self, record: dict[str, Any], expected_head: Head) -> str:
        new_head = {**HEAD_KEY, "seq": record["seq"], "hash": record["hash"]}
        if expected_head.seq == 0:
            head_put = {"Item": new_head, "ConditionExpression": _ABSENT}
        else:
            head_put = {
                "Item": new_head,
                "ConditionExpression": "seq = :seq AND #h = :hash",
                "ExpressionAttributeNames": {"#h": "hash"},
                "ExpressionAttributeValues": {":seq": expected_head.seq, ":hash": expected_head.hash},
            }
        items = [
            {"Put": {"Item": {**marker_key(record["eventKey"]), "seq": record["seq"]}, "ConditionExpression": _ABSENT}},
            {"Put": {"Item": {**record_key(record["seq"]), **record}, "ConditionExpression": _ABSENT}},
            {"Put": head_put},
        ]
        for item in items:
            item["Put"]["TableName"] = self.name
        reasons = transact(self._table, items)
        if reasons is None:
            return "appended"
        # The marker is item 0: its condition alone failing means "already recorded".
        return "duplicate" if condition_failed(reasons, 0) else "conflict"

    def records(self) -> Iterator[dict[str, Any]]:
        """The chain in seq order."""
        return query_all(self._table, CHAIN, "SEQ#")
