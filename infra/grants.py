"""What a registry entry (a workflow task, a subscriber) may do with one of the stack's order tables.

An entry names tables and an access level (``{"inventory": "read_update"}``); this module turns that
into the grant (least privilege) and names the environment variable that carries the table's name.
"""

from __future__ import annotations

from typing import Literal

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_

from lambdas.shared import constants

# "read_update": read and UpdateItem only (no PutItem overwrite, no delete);
# "append_only": GetItem and PutItem only, never update or delete (the audit trail: infra/audit.py);
# "get_put": GetItem and (conditional) PutItem only: the order ledger, written once per transaction;
# "get_update": GetItem and (conditional) UpdateItem only: a payment record moved on by a task;
# "get_put_update": GetItem, PutItem, UpdateItem: the payment record CollectPayment creates and moves on.
TableAccess = Literal["read", "read_update", "read_write", "append_only", "get_put", "get_update", "get_put_update"]

# The order tables an entry may name (attributes of infra.data.OrderTables) and their variables.
TABLE_ENV = {
    "inventory": constants.ENV_INVENTORY_TABLE,
    "payments": constants.ENV_PAYMENTS_TABLE,
    "ledger": constants.ENV_LEDGER_TABLE,
}
READ_ACTIONS = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem")
_GET_PUT = ("dynamodb:GetItem", "dynamodb:PutItem")
_ACTIONS: dict[str, tuple[str, ...]] = {
    "read_update": (*READ_ACTIONS, "dynamodb:UpdateItem"),
    "append_only": _GET_PUT,
    "get_put": _GET_PUT,
    "get_update": ("dynamodb:GetItem", "dynamodb:UpdateItem"),
    "get_put_update": ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"),
}


def grant_table(table: dynamodb.ITable, function: lambda_.IFunction, access: TableAccess) -> None:
    if access == "read":
        table.grant_read_data(function)
    elif access == "read_write":
        table.grant_read_write_data(function)
    else:
        table.grant(function, *_ACTIONS[access])
