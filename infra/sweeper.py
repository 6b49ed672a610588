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

from aws_cdk import Acknowledgment, CfnOutput, Duration, Stack, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import nag
from infra.alarms import Alarms, business_metric
from infra.bus import grant_publish
from infra.dashboard import ROW, OperationsDashboard
from infra.data import OrderTables, marker_table
from infra.functions import FunctionFactory
from infra.observability import Observability
from infra.subscribers import Subscribers
from infra.tasks import REFUND_PAYMENT, RELEASE_STOCK
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
        self.repairs = marker_table(self, "Repairs")
        refund = workflow.function_of(REFUND_PAYMENT)
        release = workflow.function_of(RELEASE_STOCK)
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
        self._namespace = observability.alarms.namespace
        self.alarms = self._alarms(observability.alarms)
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
        workflow.grant_list_executions(function)
        workflow.grant_read_executions(function)
        stack = Stack.of(self)
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
        grant_publish(bus, function, constants.EVENT_SOURCE)  # OrderFailed, when the workflow could not publish it

    def _metric(self, name: str) -> cloudwatch.Metric:
        return business_metric(self._namespace, name, "Maximum", period=INTERVAL)

    def _alarms(self, alarms: Alarms) -> list[cloudwatch.Alarm]:
        stuck = [
            alarms.add(
                "Stuck" + logic.METRICS[kind].removeprefix("Stuck"),
                self._metric(logic.METRICS[kind]),
                threshold=1,
                description=text,
                scope=self,
            )
            for kind, text in PLAYBOOK.items()
        ]
        failing = alarms.add(
            "SweeperFailing",
            self.function.metric_errors(period=INTERVAL, statistic="Sum"),
            threshold=1,
            description="The sweeper failed in two runs in a row: stuck orders are neither reported nor repaired. "
            "Read its log group; meanwhile `python -m orderctl sweep` lists them.",
            evaluation_periods=2,
            scope=self,
        )
        return [*stuck, failing]

    def _dashboard(self, dashboard: OperationsDashboard) -> None:
        half = ROW // 2
        dashboard.add_row(
            cloudwatch.GraphWidget(
                title="Stuck orders left after each sweep (by kind)",
                left=[self._metric(name).with_(label=str(kind)) for kind, name in logic.METRICS.items()],
                right=[
                    self.function.metric_duration(period=INTERVAL, statistic="p99", label="Sweeper duration (p99, ms)")
                ],
                width=half,
            ),
            dashboard.alarm_status(self, "Sweeper alarms", self.alarms, half),
        )
