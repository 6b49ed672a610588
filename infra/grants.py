"""What a registry entry (a workflow task, a subscriber) may do with a DynamoDB table: exactly the operations its
code calls (least privilege by action, issue 11).

An entry names each table and the operations its adapters call on it (``{"inventory": ("BatchGetItem",)}``);
this module turns that into the grant and names the environment variable that carries the table's name. There
is no "read" or "read-write" shorthand: CDK's ``grant_read_data`` adds Scan and the stream reads,
``grant_read_write_data`` adds DeleteItem and BatchWriteItem, and no function here calls those. A transaction
(TransactWriteItems) needs the action of each of its parts: PutItem for a Put, UpdateItem for an Update.
``tests/infra/test_security.py`` lists every function's actions and fails on any grant wider than that list.
"""

from __future__ import annotations

from typing import Literal

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam

from lambdas.shared import constants

# The DynamoDB operations a function of ours may be granted: no DeleteItem, BatchWriteItem or Scan (nothing in
# a handler deletes or scans; the sweeper's scans are granted by infra/sweeper.py, for the sweeper only).
Operation = Literal["GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "ConditionCheckItem"]
TableAccess = tuple[Operation, ...]

# Named because several entries (or a property of the table) depend on them:
CATALOG: TableAccess = ("BatchGetItem",)  # inventory.get_catalog
# The audit trail: GetItem and (conditional) PutItem only, never update or delete (infra/audit.py);
# such a table is also deletion protected.
APPEND_ONLY: TableAccess = ("GetItem", "PutItem")
# Once-per-order counters: a marker Put and the counters' Updates in one transaction (adapters/dynamo.add_once).
COUNTERS: TableAccess = ("PutItem", "UpdateItem")

# The order tables an entry may name (attributes of infra.data.OrderTables) and their variables.
TABLE_ENV = {
    "inventory": constants.ENV_INVENTORY_TABLE,
    "payments": constants.ENV_PAYMENTS_TABLE,
    "ledger": constants.ENV_LEDGER_TABLE,
}


def grant_table(table: dynamodb.ITable, grantee: iam.IGrantable, access: TableAccess) -> None:
    """The operations ``access`` names, on ``table`` only."""
    if not access:
        raise ValueError("a table grant names at least one operation")
    table.grant(grantee, *(f"dynamodb:{operation}" for operation in access))
