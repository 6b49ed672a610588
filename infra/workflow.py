"""The orchestrated order workflow: its task functions and the Standard state machine.

The ASL in `statemachines/` is the single source of truth; it is loaded here with
substitutions (function ARNs, bus name, event names) and kept inline in the template.
Its service-integration resources are written for the aws partition (``arn:aws:states:::lambda:invoke``,
as the console, the sandbox and the tests read them); the stack deploys them in its own partition
(each one a substitution: ``${IntegrationLambdaInvoke}`` = ``arn:<partition>:states:::lambda:invoke``;
aws-cn and aws-us-gov refuse the aws ARNs).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from aws_cdk import Acknowledgment, Aws, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import nag, names, tasks
from infra.bus import grant_publish
from infra.code_asset import REPO_ROOT
from infra.config import StackConfig
from infra.data import OrderTables
from infra.functions import FunctionFactory, log_group_key, log_retention
from infra.grants import grant_table
from infra.warehouses import WarehouseQueues
from lambdas.shared import constants

ASL_PATH = REPO_ROOT / names.ASL_FILE


# How the ASL writes a service integration's resource ("arn:aws:states:::lambda:invoke").
ASL_INTEGRATION = re.compile(r'"arn:aws:states:::([A-Za-z0-9:.]+)"')
# Each becomes one whole substitution ("${IntegrationLambdaInvoke}"): cfn-lint checks a Resource against an
# aws-only ARN pattern unless the whole value is a substitution.
INTEGRATION_PREFIX = "Integration"


def load_definition() -> str:
    """The ASL text exactly as in `statemachines/` (placeholders resolved by CloudFormation)."""
    return Path(ASL_PATH).read_text(encoding="utf-8")


def integration_key(integration: str) -> str:
    """lambda:invoke.waitForTaskToken -> IntegrationLambdaInvokeWaitForTaskToken."""
    words = re.split(r"[:.]", integration)
    return INTEGRATION_PREFIX + "".join(word[:1].upper() + word[1:] for word in words)


def in_stack_partition(definition: str, partition: str) -> tuple[str, dict[str, str]]:
    """The definition with every service-integration resource a substitution, and those substitutions
    (the resource in `partition`, the stack's)."""
    if "${" + INTEGRATION_PREFIX in definition:
        raise ValueError(f"the ASL must not use placeholders named {INTEGRATION_PREFIX}...: the stack sets them")
    substitutions = {
        integration_key(name): f"arn:{partition}:states:::{name}" for name in ASL_INTEGRATION.findall(definition)
    }
    deployed = ASL_INTEGRATION.sub(lambda match: '"${' + integration_key(match.group(1)) + '}"', definition)
    return deployed, substitutions


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
        definition = load_definition()
        tasks.validate(tasks.TASKS, definition)
        # Every task function, keyed by its ASL substitution; grants from its registry entry.
        self.tasks = tasks.TASKS
        self.task_functions: dict[str, lambda_.Function] = {}
        for spec in self.tasks:
            function = functions.create(
                self,
                spec.construct_id,
                spec.handler,
                spec.description,
                environment=env,
                timeout_seconds=spec.timeout_seconds,
            )
            for table_name, access in spec.tables.items():
                grant_table(getattr(tables, table_name), function, access)
            if spec.publishes:
                grant_publish(bus, function, constants.EVENT_SOURCE)
            if spec.gateway_ledger:
                tables.use_gateway_ledger(function)
            self.task_functions[spec.substitution] = function
        fn = self.task_functions

        # The execution log holds whole orders (execution data: names, addresses, e-mail): its own key.
        self.execution_log = logs.LogGroup(
            self,
            "ExecutionLogs",
            log_group_name=names.execution_log_group(config.stage),
            retention=log_retention(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
            encryption_key=log_group_key(
                self, "ExecutionLogKey", "Encrypts the order workflow's execution log (it holds order data)"
            ),
        )
        deployed, integrations = in_stack_partition(definition, Stack.of(self).partition)
        substitutions = {key: f.function_arn for key, f in fn.items()}
        substitutions.update(integrations)
        substitutions.update(
            {
                names.SUB_EVENT_BUS_NAME: bus.event_bus_name,
                names.SUB_EVENT_SOURCE: constants.EVENT_SOURCE,
                names.SUB_EVENT_VERSION: constants.EVENT_VERSION,
                names.SUB_PRODUCER: constants.WORKFLOW_PRODUCER,
                names.SUB_ORDER_COMPLETED: constants.EVENT_ORDER_COMPLETED,
                names.SUB_ORDER_FAILED: constants.EVENT_ORDER_FAILED,
                names.SUB_PAYMENTS_TABLE: tables.payments.table_name,
            }
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(deployed),
            definition_substitutions=substitutions,
            tracing_enabled=True,
            # Failures only (level ERROR), without inputs and outputs: the review task's input carries its
            # token, and orders carry addresses. The metric filters (infra/alarms.py) read ExecutionFailed,
            # which ERROR keeps; every step of an order stays in the execution history (GetExecutionHistory,
            # what `orderctl trace` reads) and the function logs. Level ALL doubled an order's log bytes
            # (docs/BENCH.md: $11.05 -> $5.47 per million happy orders).
            logs=sfn.LogOptions(destination=self.execution_log, level=sfn.LogLevel.ERROR, include_execution_data=False),
        )
        for f in fn.values():
            f.grant_invoke(self.state_machine)
        for queue in warehouses.queues.values():
            queue.grant_send_messages(self.state_machine)
        grant_publish(bus, self.state_machine, constants.EVENT_SOURCE)
        # ConfirmReviewDecision reads the payment's recorded decision: an answered token alone resumes nothing.
        tables.payments.grant(self.state_machine, "dynamodb:GetItem")
        nag.acknowledge_state_machine(self.state_machine, list(fn.values()))

        # The reviewer's function: finds the stored token and resumes the waiting execution, for a caller
        # whose signed identity (lambdas/decide_payment_review/identity.py) is a named reviewer principal.
        self.reviewer_role = reviewer_role(self)
        principals = [self.reviewer_role.role_arn, *reviewer_principals(self)]
        self.review_decision_function = functions.create(
            self,
            "DecidePaymentReview",
            constants.REVIEW_DECISION_HANDLER,
            "Reviewer's decision: {orderId, decision: approve|reject, note?, identityProof} resumes the order",
            environment={
                constants.ENV_PAYMENTS_TABLE: tables.payments.table_name,
                constants.ENV_STATE_MACHINE_ARN: self.state_machine.state_machine_arn,
                constants.ENV_REVIEWER_PRINCIPALS: Stack.of(self).to_json_string(principals),
            },
        )
        # The function itself only (no ":*" for versions: it has none).
        self.reviewer_role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[self.review_decision_function.function_arn]
            )
        )
        # What logic.decide calls: GetItem, UpdateItem (no Put, Delete, BatchWrite, Scan).
        tables.payments.grant(self.review_decision_function, "dynamodb:GetItem", "dynamodb:UpdateItem")
        self.grant_answer_reviews(self.review_decision_function)
        # What became of an order's review task when its token is refused: this workflow's executions only.
        self.grant_read_executions(self.review_decision_function)

    def function_of(self, task: tasks.TaskSpec) -> lambda_.Function:
        """The deployed function of a registry entry (e.g. the sweeper's RefundPayment)."""
        return self.task_functions[task.substitution]

    def grant_answer_reviews(self, function: lambda_.Function) -> None:
        """SendTaskSuccess and SendTaskFailure (a decision) on this state machine only: no heartbeat, which
        nothing here sends (CDK's grant_task_response adds it)."""
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:SendTaskSuccess", "states:SendTaskFailure"],
                resources=[self.state_machine.state_machine_arn],
            )
        )

    def grant_list_executions(self, function: lambda_.Function) -> None:
        """states:ListExecutions on this workflow's state machine only."""
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["states:ListExecutions"], resources=[self.state_machine.state_machine_arn])
        )

    def grant_read_executions(self, function: lambda_.Function) -> None:
        """DescribeExecution and GetExecutionHistory on this workflow's executions, nothing else."""
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


REVIEWER_PRINCIPALS_CONTEXT = "reviewerPrincipals"
# The payment reviewers' role (its construct id: the README tells operators its name).
REVIEWER_ROLE_ID = "PaymentReviewerRole"


def reviewer_principals(scope: Construct) -> list[str]:
    """IAM role or user ARNs (besides the stack's reviewer role) whose signed identity may decide:
    ``-c reviewerPrincipals=arn:aws:iam::123456789012:role/Reviewers,...`` (or a JSON list in cdk.json)."""
    value = scope.node.try_get_context(REVIEWER_PRINCIPALS_CONTEXT) or []
    entries = value.split(",") if isinstance(value, str) else list(value)
    principals = [str(entry).strip() for entry in entries if str(entry).strip()]
    for arn in principals:
        if not re.fullmatch(r"arn:[\w-]+:iam::\d{12}:(role|user)/[\w+=,.@/-]+", arn):
            raise ValueError(f"{REVIEWER_PRINCIPALS_CONTEXT}: {arn!r} is not an IAM role or user ARN")
    return principals


def reviewer_role(scope: Construct) -> iam.Role:
    """The payment reviewers' role: an IAM user of this account whom an operator allows sts:AssumeRole on it
    may assume it, only under their own user name as the session name (so the session names the person)."""
    role = iam.Role(
        scope,
        REVIEWER_ROLE_ID,
        description="Payment reviewers: may invoke the review-decision function; the session name is the reviewer",
        assumed_by=iam.AccountPrincipal(Aws.ACCOUNT_ID).with_conditions(
            {"StringEquals": {"sts:RoleSessionName": "${aws:username}"}}
        ),
        max_session_duration=Duration.hours(1),
    )
    return role
