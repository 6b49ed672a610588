"""The sweeper: a scheduled function that finds orders left mid-way and repairs the safe ones.

- Every logic.SWEEP_INTERVAL_MINUTES (EventBridge schedule) it reads the items in an intermediate state
  (payments CHARGING / REVIEW_PENDING, holds HELD, notification claims SENDING) and the FAILED
  executions, and reports each stuck one (structured log, one metric per kind); it repairs on its own
  what is always safe (lambdas/sweeper/logic.py AUTO_REPAIR), through the deployed ReleaseStock and
  RefundPayment functions and by re-sending the compensation the workflow scheduled.
- Its repairs table keeps, per order, the compensation steps a repair finished (a second repair
  does nothing) and a verdict on each failed execution it examined (examined once).
- One alarm per kind of stuck item, on the alarm topic; each description is the playbook.
- Least privilege: it scans the tables it sweeps, lists and reads this workflow's executions, invokes
  the two compensation functions, sends to the warehouse queues and publishes on the order bus
  (the two compensation steps that are not functions). It never redrives: a person does
  (`orderctl repair`), once the cause of the stall is fixed.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Aws, CfnOutput, Duration, Stack, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra import nag
from infra.data import OrderTables
from infra.data import _table as new_table
from infra.functions import FunctionFactory
from infra.observability import ROW, Observability
from infra.subscribers import Subscribers
from infra.warehouses import WarehouseQueues
from infra.workflow import OrderWorkflow
from lambdas.shared import constants
from lambdas.sweeper import logic

INTERVAL = Duration.minutes(logic.SWEEP_INTERVAL_MINUTES)
FUNCTION_TIMEOUT_SECONDS = 300  # scans of whole tables: far more than a task function's 10 s
_READ = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan")
_REPAIRS = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")

# The playbook of each alarm: what it means, and what to do.
PLAYBOOK: dict[logic.Kind, str] = {
    logic.Kind.PAYMENT_CHARGING: "A payment is CHARGING (a charge claimed, its gateway outcome never recorded) and no "
    "execution of the order is running. Before the commit point the sweeper voids it itself; this alarm means it "
    "could not (see the sweeper's log, 'stuck order') or the order had passed its commit point (never refund: "
    "reconcile with the gateway's record). Repair one order: `python -m orderctl repair <orderId>`.",
    logic.Kind.REVIEW_PENDING: "A payment is REVIEW_PENDING but no execution of the order waits for the review. "
    "Before the commit point the sweeper voids it; if the order SUCCEEDED, the reviewer's decision reached the "
    "workflow but not the payments table: check the decision and set it by hand. "
    "See `python -m orderctl sweep`; repair: `python -m orderctl repair <orderId>`.",
    logic.Kind.STOCK_HELD: "Stock is HELD for an order no running execution will finish. Before the commit point "
    "the sweeper releases it itself; this alarm means the release failed, or the order completed and the "
    "inventory subscriber never sold it (see its dead letters: `python -m orderctl redrive inventory`). "
    "List: `python -m orderctl sweep`.",
    logic.Kind.SEND_CLAIM_EXPIRED: "An order confirmation e-mail was claimed (SENDING) and never sent: the sender "
    "crashed and no retry came. Hand the OrderCompleted event to the notifications subscriber again: "
    "`python -m orderctl redrive notifications`, or `python -m orderctl replay notifications --from <day>`.",
    logic.Kind.COMPENSATION_FAILED: "An order ended Order.CompensationFailed and the sweeper could not finish its "
    "compensation (refund/void, release, cancel shipment, OrderFailed). Fix what fails (the log names it), then "
    "`python -m orderctl repair <orderId>`: it re-runs only the steps left, once.",
    logic.Kind.STALLED_AFTER_COMMIT: "An order stopped after its commit point (RecordAccounting or "
    "PublishOrderCompleted kept failing): the warehouse ships, the money stays captured, nothing is undone. "
    "Fix the cause (the error names it: a missing bus, a broken function), then "
    "`python -m orderctl repair <orderId>` redrives it to SUCCEEDED.",
}


def _ack(function: lambda_.Function, finding: str, reason: str) -> None:
    Validations.of(function).acknowledge(Acknowledgment(id=nag.PACK + finding, reason=reason))


class Sweeper(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        functions: FunctionFactory,
        tables: OrderTables,
        workflow: OrderWorkflow,
        subscribers: Subscribers,
        warehouses: WarehouseQueues,
        bus: events.IEventBus,
        observability: Observability,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self._prefix = stack.stack_name
        self.repairs = new_table(self, "Repairs", *constants.SUBSCRIBER_TABLE_KEYS)
        cfn_table: dynamodb.CfnTable = self.repairs.node.default_child  # type: ignore[assignment]
        cfn_table.time_to_live_specification = dynamodb.CfnTable.TimeToLiveSpecificationProperty(
            attribute_name=constants.MARKER_TTL_ATTRIBUTE, enabled=True
        )
        refund = workflow.task_functions["RefundPaymentFunctionArn"]
        release = workflow.task_functions["ReleaseStockFunctionArn"]
        notifications = subscribers.subscribers["notifications"].table
        assert notifications is not None, "the notifications subscriber keeps its send claims in its own table"
        state_machine = workflow.state_machine
        self.function = functions.create(
            self,
            "Function",
            logic.HANDLER,
            "Sweeper: finds orders left mid-way with nothing running to finish them; repairs the safe ones",
            environment={
                constants.ENV_STATE_MACHINE_ARN: state_machine.state_machine_arn,
                constants.ENV_PAYMENTS_TABLE: tables.payments.table_name,
                constants.ENV_INVENTORY_TABLE: tables.inventory.table_name,
                constants.ENV_LEDGER_TABLE: tables.ledger.table_name,
                logic.ENV_NOTIFICATIONS_TABLE: notifications.table_name,
                logic.ENV_REPAIRS_TABLE: self.repairs.table_name,
                logic.ENV_REFUND_FUNCTION: refund.function_arn,
                logic.ENV_RELEASE_FUNCTION: release.function_arn,
                logic.ENV_AUTO_REPAIR: "true",
            },
            timeout_seconds=FUNCTION_TIMEOUT_SECONDS,
        )
        self._grant(tables, notifications, refund, release, workflow, warehouses, bus)
        events.Rule(
            self,
            "Schedule",
            description="Finds orders left mid-way (payments, holds, e-mail claims, failed executions)",
            schedule=events.Schedule.rate(INTERVAL),
            targets=[targets.LambdaFunction(self.function, retry_attempts=0)],  # the next run comes soon anyway
        )
        CfnOutput(stack, logic.OUTPUT_REPAIRS_TABLE, value=self.repairs.table_name)
        self.alarms = self._alarms(observability.topic)
        self._dashboard(observability.dashboard)

    def _grant(
        self,
        tables: OrderTables,
        notifications: dynamodb.ITable,
        refund: lambda_.Function,
        release: lambda_.Function,
        workflow: OrderWorkflow,
        warehouses: WarehouseQueues,
        bus: events.IEventBus,
    ) -> None:
        function = self.function
        tables.payments.grant(function, *_READ)
        tables.inventory.grant(function, *_READ)
        tables.ledger.grant(function, "dynamodb:GetItem")
        notifications.grant(function, "dynamodb:Scan")
        self.repairs.grant(function, *_REPAIRS)
        state_machine = workflow.state_machine
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["states:ListExecutions"], resources=[state_machine.state_machine_arn])
        )
        executions = (
            f"arn:{Aws.PARTITION}:states:{Aws.REGION}:{Aws.ACCOUNT_ID}:execution:{state_machine.state_machine_name}:*"
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:GetExecutionHistory"], resources=[executions]
            )
        )
        stack = Stack.of(self)
        machine_id = stack.get_logical_id(state_machine.node.default_child)  # type: ignore[arg-type]
        _ack(
            function,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            f"<{machine_id}.Name>:*]",
            "Reading executions of this workflow only: an execution ARN is the state machine's name plus the "
            "execution (order) name, unknown in advance.",
        )
        for compensation in (refund, release):
            compensation.grant_invoke(function)
            logical_id = stack.get_logical_id(compensation.node.default_child)  # type: ignore[arg-type]
            _ack(
                function,
                f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>:*]",
                "lambda:InvokeFunction on '<function arn>:*' is CDK's grant for one compensation function "
                "and its versions; nothing else is reachable through it.",
            )
        for queue in warehouses.queues.values():
            queue.grant_send_messages(function)  # CancelShipment, exactly as the workflow sends it
        bus.grant_put_events_to(function)  # OrderFailed, when the workflow could not publish it

    def _metric(self, name: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=constants.METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map={"service": constants.SERVICE_NAME},
            statistic="Maximum",
            period=INTERVAL,
        )

    def _alarms(self, topic: sns.ITopic) -> list[cloudwatch.Alarm]:
        alarms = [
            self._alarm("Stuck" + logic.METRICS[kind].removeprefix("Stuck"), self._metric(logic.METRICS[kind]), text)
            for kind, text in PLAYBOOK.items()
        ]
        alarms.append(
            self._alarm(
                "SweeperFailing",
                self.function.metric_errors(period=INTERVAL, statistic="Sum"),
                "The sweeper failed in two runs in a row: stuck orders are neither reported nor repaired. Read its "
                "log group; meanwhile `python -m orderctl sweep` lists them.",
                evaluation_periods=2,
            )
        )
        for alarm in alarms:
            alarm.add_alarm_action(actions.SnsAction(topic))
            alarm.add_ok_action(actions.SnsAction(topic))
        return alarms

    def _alarm(
        self, construct_id: str, metric: cloudwatch.IMetric, description: str, evaluation_periods: int = 1
    ) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=f"{self._prefix}-{construct_id}",
            alarm_description=description,
            metric=metric,
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=evaluation_periods,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    def _dashboard(self, dashboard: cloudwatch.Dashboard) -> None:
        half = ROW // 2
        by_arn = [
            cloudwatch.Alarm.from_alarm_arn(
                self,
                f"{alarm.node.id}Ref",
                f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:{self._prefix}-{alarm.node.id}",
            )
            for alarm in self.alarms
        ]
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Stuck orders left after each sweep (by kind)",
                left=[self._metric(name).with_(label=str(kind)) for kind, name in logic.METRICS.items()],
                right=[
                    self.function.metric_duration(period=INTERVAL, statistic="p99", label="Sweeper duration (p99, ms)")
                ],
                width=half,
            ),
            cloudwatch.AlarmStatusWidget(title="Sweeper alarms", alarms=by_arn, width=half),
        )
