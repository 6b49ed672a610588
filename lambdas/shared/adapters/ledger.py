"""The ledger table: ``ORDER#<orderId>`` / ``TXN#<kind>`` items, each written at most once."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from lambdas.shared import constants
from lambdas.shared.adapters.dynamo import conditional_check_failed
from lambdas.shared.ledger import Entry

_PK, _SK = constants.LEDGER_TABLE_KEYS


def transaction_key(order_id: str, kind: str) -> dict[str, str]:
    return {_PK: f"ORDER#{order_id}", _SK: f"TXN#{kind}"}


class LedgerTable:
    def __init__(self, dynamo_table: Any) -> None:
        self._table = dynamo_table

    def get(self, order_id: str, kind: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key=transaction_key(order_id, kind), ConsistentRead=True).get("Item")
        if not item:
            return None
        return {**item, "entries": [Entry.from_item(e) for e in item.get("entries", [])]}

    def put_once(self, order_id: str, kind: str, transaction: dict[str, Any], entries: list[Entry]) -> str:
        """Write the transaction unless this order already has one of this kind.

        Returns the transaction id that is stored: the new one, or the one a previous attempt wrote.
        """
        item = {
            **transaction_key(order_id, kind),
            **transaction,
            "orderId": order_id,
            "kind": kind,
            "entries": [e.to_item() for e in entries],
        }
        try:
            self._table.put_item(Item=item, ConditionExpression=f"attribute_not_exists({_PK})")
        except ClientError as error:
            if not conditional_check_failed(error):
                raise
            stored = self.get(order_id, kind)
            if stored is None:  # pragma: no cover - a ledger item is never deleted
                raise
            return str(stored["transactionId"])
        return str(item["transactionId"])
