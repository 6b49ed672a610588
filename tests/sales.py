"""A sale in the sandbox's ledger, as RecordAccounting writes it before the workflow publishes OrderCompleted:
for a test that puts its own OrderCompleted on the bus (subscribers refuse one whose sale is not there)."""

from __future__ import annotations

from typing import Any

from lambdas.shared import constants
from lambdas.shared.adapters.ledger import transaction_key
from lambdas.shared.ledger import SALE


def record_sale(sandbox: Any, order_id: str) -> None:
    key = {name: {"S": value} for name, value in transaction_key(order_id, SALE).items()}
    item = {**key, "orderId": {"S": order_id}, "kind": {"S": SALE}, "entries": {"L": []}}
    table = sandbox.outputs[constants.OUTPUT_LEDGER_TABLE]
    sandbox.client("dynamodb").put_item(TableName=table, Item=item)
