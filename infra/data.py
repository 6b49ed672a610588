"""The order data: stock (catalog, stock levels, holds), payments (charges, review tokens), ledger,
and the simulated payment gateway's own ledger (the provider's records, apart from ours).

On-demand billing, point-in-time recovery, encryption at rest with the AWS managed key.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from lambdas.shared import constants


def table(scope: Construct, construct_id: str, partition_key: str, sort_key: str | None) -> dynamodb.Table:
    """A table as every table of this project is: on demand, recoverable, encrypted, retained."""
    return dynamodb.Table(
        scope,
        construct_id,
        partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING) if sort_key else None,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        # Order data outlives a stack update gone wrong; delete it by hand when you mean it.
        removal_policy=RemovalPolicy.RETAIN,
    )


def marker_table(scope: Construct, construct_id: str) -> dynamodb.Table:
    """A (pk, sk) table whose items may carry an expiry (idempotency markers, repair records): TTL on
    `expiresAt`, so DynamoDB deletes them once no redelivery can come."""
    new = table(scope, construct_id, *constants.SUBSCRIBER_TABLE_KEYS)
    cfn_table: dynamodb.CfnTable = new.node.default_child  # type: ignore[assignment]
    cfn_table.time_to_live_specification = dynamodb.CfnTable.TimeToLiveSpecificationProperty(
        attribute_name=constants.MARKER_TTL_ATTRIBUTE, enabled=True
    )
    return new


# What a payment function does with the gateway's ledger (lambdas/shared/adapters/payments.py,
# GatewayLedger): read a record, put one if absent, and put one only if another is absent
# (TransactWriteItems with a ConditionCheck). Audits read it with the operator's own credentials.
GATEWAY_LEDGER_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:ConditionCheckItem")


class OrderTables(Construct):
    """Four tables, one per concern, each written by the functions that own it."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # pk/sk items: PRODUCT#<sku>/CATALOG, PRODUCT#<sku>/STOCK#<warehouse>, ORDER#<id>/HOLD#<sku>
        self.inventory = table(self, "Inventory", *constants.INVENTORY_TABLE_KEYS)
        # one item per order: the charge, its status and (while in review) the task token
        self.payments = table(self, "Payments", *constants.PAYMENTS_TABLE_KEYS)
        # ORDER#<id>/TXN#... double-entry transactions, written once per order
        self.ledger = table(self, "Ledger", *constants.LEDGER_TABLE_KEYS)
        # (idempotencyKey, operation: CHARGE | REFUND | VOID): what the simulated payment provider did,
        # written only by the gateway (lambdas/shared/payment_gateway.py), never by our own bookkeeping
        self.gateway_ledger = table(self, "GatewayLedger", *constants.GATEWAY_LEDGER_TABLE_KEYS)

    def use_gateway_ledger(self, function: lambda_.Function) -> None:
        """Let a payment function's gateway keep its records: the table's name and least privilege."""
        function.add_environment(constants.ENV_GATEWAY_LEDGER_TABLE, self.gateway_ledger.table_name)
        self.gateway_ledger.grant(function, *GATEWAY_LEDGER_ACTIONS)
