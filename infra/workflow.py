"""The orchestrated order workflow: its task functions and the Standard state machine.

The ASL in `statemachines/` is the single source of truth; it is loaded here with
substitutions (function ARNs, bus name, event names) and kept inline in the template.
"""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import Acknowledgment, Aws, RemovalPolicy, Stack, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import nag
from infra.config import StackConfig
from infra.data import OrderTables
from infra.functions import REPO_ROOT, FunctionFactory, log_retention
from infra.warehouses import WarehouseQueues
from lambdas.shared import constants

ASL_PATH = REPO_ROOT / constants.ASL_FILE

# What each task function is, for the Lambda console.
_DESCRIPTIONS = {
    "ValidateOrderFunctionArn": "ValidateOrder: schema and catalog checks, returns the normalised order",
    "ReserveStockFunctionArn": "ReserveStock: picks the warehouse for the address and holds the stock",
    "PriceOrderFunctionArn": "PriceOrder: prices, tax, shipping; compares with displayedTotal",
    "CollectPaymentFunctionArn": "CollectPayment: charges once per order through the payment gateway",
    "WaitForPaymentReviewFunctionArn": "WaitForPaymentReview: stores the task token, announces the review",
    "RecordAccountingFunctionArn": "RecordAccounting: double-entry ledger transaction, once per order",
    "RefundPaymentFunctionArn": "RefundPayment (compensation): refunds or voids the order's charge",
    "ReleaseStockFunctionArn": "ReleaseStock (compensation): returns held stock",
}


def load_definition() -> str:
    """The ASL text exactly as in `statemachines/` (placeholders resolved by CloudFormation)."""
    return Path(ASL_PATH).read_text(encoding="utf-8")


class OrderWorkflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        config: StackConfig,
        functions: FunctionFactory,
        tables: OrderTables,
        warehouses: WarehouseQueues,
        bus: events.IEventBus,
    ) -> None:
        super().__init__(scope, construct_id)
        env = {
            constants.ENV_INVENTORY_TABLE: tables.inventory.table_name,
            constants.ENV_PAYMENTS_TABLE: tables.payments.table_name,
            constants.ENV_LEDGER_TABLE: tables.ledger.table_name,
            constants.ENV_EVENT_BUS: bus.event_bus_name,
            constants.ENV_WAREHOUSES: warehouses.routing_json(),
            constants.ENV_PRICING: json.dumps(config.pricing),
            constants.ENV_PAYMENT_REVIEW_THRESHOLD: str(config.payment_review_threshold_cents),
            constants.ENV_REVIEW_TIMEOUT_SECONDS: str(config.review_timeout_seconds),
        }
        self.task_functions: dict[str, lambda_.Function] = {}
        for substitution, handler in constants.TASK_FUNCTIONS.items():
            construct_name = substitution.removesuffix("Arn")
            self.task_functions[substitution] = functions.create(
                self, construct_name, handler, _DESCRIPTIONS[substitution], environment=env
            )
        fn = self.task_functions
        # Least privilege: each function gets only the tables it touches.
        tables.inventory.grant_read_data(fn["ValidateOrderFunctionArn"])
        tables.inventory.grant_read_write_data(fn["ReserveStockFunctionArn"])
        tables.inventory.grant_read_data(fn["PriceOrderFunctionArn"])
        tables.payments.grant_read_write_data(fn["CollectPaymentFunctionArn"])
        tables.payments.grant_read_write_data(fn["WaitForPaymentReviewFunctionArn"])
        bus.grant_put_events_to(fn["WaitForPaymentReviewFunctionArn"])
        tables.ledger.grant_read_write_data(fn["RecordAccountingFunctionArn"])
        tables.payments.grant_read_write_data(fn["RefundPaymentFunctionArn"])
        tables.ledger.grant_read_write_data(fn["RefundPaymentFunctionArn"])
        tables.inventory.grant_read_write_data(fn["ReleaseStockFunctionArn"])
        tables.use_gateway_ledger(fn["CollectPaymentFunctionArn"])
        tables.use_gateway_ledger(fn["RefundPaymentFunctionArn"])

        log_group = logs.LogGroup(
            self,
            "ExecutionLogs",
            retention=log_retention(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
            encryption_key=self._execution_log_key(),
        )
        substitutions = {key: f.function_arn for key, f in fn.items()}
        substitutions.update(
            {
                constants.SUB_EVENT_BUS_NAME: bus.event_bus_name,
                constants.SUB_EVENT_SOURCE: constants.EVENT_SOURCE,
                constants.SUB_EVENT_VERSION: constants.EVENT_VERSION,
                constants.SUB_PRODUCER: constants.WORKFLOW_PRODUCER,
                constants.SUB_ORDER_COMPLETED: constants.EVENT_ORDER_COMPLETED,
                constants.SUB_ORDER_FAILED: constants.EVENT_ORDER_FAILED,
            }
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(load_definition()),
            definition_substitutions=substitutions,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        for f in fn.values():
            f.grant_invoke(self.state_machine)
        for queue in warehouses.queues.values():
            queue.grant_send_messages(self.state_machine)
        bus.grant_put_events_to(self.state_machine)
        nag.acknowledge_state_machine(self.state_machine, list(fn.values()))

        # The reviewer's function: finds the stored token and resumes the waiting execution.
        self.review_decision_function = functions.create(
            self,
            "DecidePaymentReview",
            constants.REVIEW_DECISION_HANDLER,
            "Reviewer's decision: {orderId, decision: approve|reject, reviewer} resumes the order",
            environment={
                constants.ENV_PAYMENTS_TABLE: tables.payments.table_name,
                constants.ENV_STATE_MACHINE_ARN: self.state_machine.state_machine_arn,
            },
        )
        tables.payments.grant_read_write_data(self.review_decision_function)
        # SendTaskSuccess/Failure/Heartbeat on this state machine only.
        self.state_machine.grant_task_response(self.review_decision_function)
        # What became of an order's review task when its token is refused: this workflow's executions only.
        self._read_executions(self.review_decision_function)

    def _read_executions(self, function: lambda_.Function) -> None:
        machine = self.state_machine
        executions = (
            f"arn:{Aws.PARTITION}:states:{Aws.REGION}:{Aws.ACCOUNT_ID}:execution:{machine.state_machine_name}:*"
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:GetExecutionHistory"], resources=[executions]
            )
        )
        machine_id = Stack.of(self).get_logical_id(machine.node.default_child)  # type: ignore[arg-type]
        Validations.of(function).acknowledge(
            Acknowledgment(
                id=nag.PACK + "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:"
                f"<AWS::AccountId>:execution:<{machine_id}.Name>:*]",
                reason="Reading executions of this workflow only: an execution ARN is the state machine's name "
                "plus the execution (order) name, unknown in advance.",
            )
        )

    def _execution_log_key(self) -> kms.Key:
        """The execution log holds whole orders (execution data: names, addresses, e-mail): it is
        encrypted with its own key, which CloudWatch Logs may use for this account's log groups only."""
        key = kms.Key(
            self,
            "ExecutionLogKey",
            description="Encrypts the order workflow's execution log (it holds order data)",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        stack = Stack.of(self)
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                        )
                    }
                },
            )
        )
        return key
