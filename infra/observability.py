"""Observability: the alarm topic, the alarms, the operations dashboard and the review monitor.

- Alarm topic: SNS, encrypted with a customer managed KMS key (CloudWatch cannot publish to a topic
  under the AWS managed SNS key, whose policy cannot grant it), SSL only, e-mail to ``onCallEmail``.
- Failed orders by reason, without extra code: a metric filter on the state machine's execution log
  (level ALL): each ``{"type": "ExecutionFailed", "details": {"error": ..., "cause": ...}}`` event
  counts once under dimension ``error``. A second filter counts the failures that are not business
  outcomes (constants.BUSINESS_ERRORS): those are faults and page at once.
- Reviews waiting: a small scheduled Lambda (lambdas/review_monitor) reports ReviewsWaiting and
  OldestReviewWaitSeconds (Powertools metrics); see its logic.py for why it reads running executions.
- Alarms: unexpected failures, failure rate, a review waiting too long, a message in any dead-letter
  queue, a subscriber failing; each alarm's description says what to do (usually an orderctl command).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import StackConfig
from infra.data import OrderTables
from infra.functions import FunctionFactory
from infra.subscribers import Subscribers
from infra.warehouses import WarehouseQueues
from infra.workflow import OrderWorkflow
from lambdas.shared import constants

PERIOD = Duration.minutes(constants.ALARM_PERIOD_MINUTES)
CLOUDWATCH = iam.ServicePrincipal("cloudwatch.amazonaws.com")
# Width of a dashboard row (CloudWatch's grid is 24 units wide).
ROW = 24


def failed_execution_pattern(excluded_errors: tuple[str, ...] = ()) -> logs.IFilterPattern:
    """ExecutionFailed events of the execution log, optionally without some named errors."""
    conditions = [logs.FilterPattern.string_value("$.type", "=", "ExecutionFailed")]
    conditions += [logs.FilterPattern.string_value("$.details.error", "!=", error) for error in excluded_errors]
    return logs.FilterPattern.all(*conditions)


def business_metric(name: str, statistic: str = "Sum", label: str | None = None) -> cloudwatch.Metric:
    """A Powertools metric of our handlers (namespace and the ``service`` dimension Powertools adds)."""
    return cloudwatch.Metric(
        namespace=constants.METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": constants.SERVICE_NAME},
        statistic=statistic,
        period=PERIOD,
        label=label,
    )


@dataclass(frozen=True)
class WatchedQueue:
    label: str  # "analytics subscriber", "warehouse WH-EU-1"
    queue: sqs.IQueue
    remedy: str  # what the on-call person does about a message in it


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        config: StackConfig,
        functions: FunctionFactory,
        tables: OrderTables,
        workflow: OrderWorkflow,
        subscribers: Subscribers,
        warehouses: WarehouseQueues,
    ) -> None:
        super().__init__(scope, construct_id)
        self._prefix = Stack.of(self).stack_name
        self.topic = self._alarm_topic(config.on_call_email)
        self.alarms: list[cloudwatch.Alarm] = []
        state_machine = workflow.state_machine
        execution_log: logs.ILogGroup = workflow.node.find_child("ExecutionLogs")  # type: ignore[assignment]

        logs.MetricFilter(
            self,
            "FailedOrdersByReason",
            log_group=execution_log,
            filter_pattern=failed_execution_pattern(),
            metric_namespace=constants.METRICS_NAMESPACE,
            metric_name=constants.METRIC_ORDERS_FAILED,
            metric_value="1",
            dimensions={constants.METRIC_ERROR_DIMENSION: "$.details.error"},
        )
        logs.MetricFilter(
            self,
            "UnexpectedFailures",
            log_group=execution_log,
            filter_pattern=failed_execution_pattern(constants.BUSINESS_ERRORS),
            metric_namespace=constants.METRICS_NAMESPACE,
            metric_name=constants.METRIC_ORDERS_FAILED_UNEXPECTEDLY,
            metric_value="1",
            default_value=0,
        )
        self.review_monitor = self._review_monitor(functions, tables, workflow)

        unexpected = cloudwatch.Metric(
            namespace=constants.METRICS_NAMESPACE,
            metric_name=constants.METRIC_ORDERS_FAILED_UNEXPECTEDLY,
            statistic="Sum",
            period=PERIOD,
        )
        self._alarm(
            "OrdersFailedUnexpectedly",
            unexpected,
            threshold=1,
            description="An order failed with an error that is not a business outcome (e.g. "
            f"{constants.ERROR_COMPENSATION_FAILED}: money or stock may be left unreconciled). Find it in the "
            "state machine's executions (status Failed), read it with `python -m orderctl status <orderId>`.",
        )
        rate_window = Duration.minutes(constants.FAILURE_RATE_ALARM_MINUTES)
        failure_rate = cloudwatch.MathExpression(
            expression=f"IF(started >= {constants.FAILURE_RATE_ALARM_MIN_ORDERS}, 100 * failed / started, 0)",
            using_metrics={
                "started": state_machine.metric_started(period=rate_window, statistic="Sum"),
                "failed": state_machine.metric_failed(period=rate_window, statistic="Sum"),
            },
            label="Failed orders (% of started)",
            period=rate_window,
        )
        self._alarm(
            "OrderFailureRateHigh",
            failure_rate,
            threshold=constants.FAILURE_RATE_ALARM_PERCENT,
            description=f"At least {constants.FAILURE_RATE_ALARM_PERCENT}% of the orders started in "
            f"{constants.FAILURE_RATE_ALARM_MINUTES} minutes failed. The dashboard's 'Failed orders by reason' "
            "says which error (a stock-out, the payment gateway declining, prices out of date...); read one such "
            "order with `python -m orderctl status <orderId>`.",
        )

        wait_threshold = int(config.review_timeout_seconds * constants.REVIEW_WAIT_ALARM_FRACTION)
        oldest_review = business_metric(constants.METRIC_OLDEST_REVIEW_WAIT, "Maximum", "Oldest review waiting (s)")
        self._alarm(
            "ReviewWaitingTooLong",
            oldest_review,
            threshold=wait_threshold,
            evaluation_periods=2,
            missing=cloudwatch.TreatMissingData.BREACHING,
            description=f"A payment review has waited {_hours(wait_threshold)} or more; after "
            f"{_hours(config.review_timeout_seconds)} the order is cancelled (Order.ReviewTimedOut). "
            "List them: `python -m orderctl reviews`; decide: `orderctl approve|reject <orderId>`. "
            "No data at all means the review monitor itself stopped reporting: check its logs.",
        )

        watched = [
            WatchedQueue(
                f"{name} subscriber",
                sub.dead_letter_queue,
                f"Fix what failed (its ErrorMessage attribute), then: `python -m orderctl redrive {name}`.",
            )
            for name, sub in subscribers.subscribers.items()
        ]
        for warehouse_id, queue in warehouses.queues.items():
            if queue.dead_letter_queue:
                watched.append(
                    WatchedQueue(
                        f"warehouse {warehouse_id}",
                        queue.dead_letter_queue.queue,
                        "The warehouse system could not process a ship or cancel order 5 times: ask its team; "
                        "the message body names the order.",
                    )
                )
        for item in watched:
            self._alarm(
                "DeadLetters" + _camel(item.label),
                item.queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
                threshold=1,
                description=f"A message is waiting in the {item.label} dead-letter queue. {item.remedy}",
            )
        for name, sub in subscribers.subscribers.items():
            self._alarm(
                "SubscriberErrors" + _camel(name),
                sub.function.metric_errors(period=PERIOD, statistic="Sum"),
                threshold=1,
                evaluation_periods=3,
                datapoints_to_alarm=2,
                description=f"The {name} subscriber keeps failing (errors in 2 of 3 periods of "
                f"{constants.ALARM_PERIOD_MINUTES} min; a one-off is retried and not alarmed). Read its log group; "
                f"events it gives up on land in its dead-letter queue (`python -m orderctl redrive {name}`).",
            )

        durations = {key.removesuffix("FunctionArn"): f for key, f in workflow.task_functions.items()}
        durations["DecidePaymentReview"] = workflow.review_decision_function
        durations.update({f"{name} subscriber": sub.function for name, sub in subscribers.subscribers.items()})
        durations["ReviewMonitor"] = self.review_monitor
        self.dashboard = self._dashboard(state_machine, oldest_review, wait_threshold, subscribers, watched, durations)

    # -- pieces ---------------------------------------------------------------------------------------
    def _alarm_topic(self, on_call_email: str | None) -> sns.Topic:
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Encrypts the alarm topic; CloudWatch may use it to publish alarms",
            enable_key_rotation=True,
        )
        key.grant(CLOUDWATCH, "kms:Decrypt", "kms:GenerateDataKey*")
        topic = sns.Topic(self, "AlarmTopic", display_name="Order processing alarms", master_key=key, enforce_ssl=True)
        # CloudWatch alarms of this account may publish (a topic with a policy allows nothing else).
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisAccount",
                actions=["sns:Publish"],
                principals=[CLOUDWATCH],
                resources=[topic.topic_arn],
                conditions={
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:*"
                    },
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                },
            )
        )
        if on_call_email:
            topic.add_subscription(subscriptions.EmailSubscription(on_call_email))
        return topic

    def _review_monitor(
        self, functions: FunctionFactory, tables: OrderTables, workflow: OrderWorkflow
    ) -> lambda_.Function:
        function = functions.create(
            self,
            "ReviewMonitor",
            constants.REVIEW_MONITOR_HANDLER,
            "Review monitor: how many orders wait for a payment reviewer, and the oldest wait",
            environment={
                constants.ENV_STATE_MACHINE_ARN: workflow.state_machine.state_machine_arn,
                constants.ENV_PAYMENTS_TABLE: tables.payments.table_name,
            },
        )
        # Least privilege: list this workflow's executions, batch-read payments; nothing else.
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["states:ListExecutions"], resources=[workflow.state_machine.state_machine_arn])
        )
        tables.payments.grant(function, "dynamodb:BatchGetItem")
        events.Rule(
            self,
            "ReviewMonitorSchedule",
            description="Counts the orders waiting for a payment reviewer",
            schedule=events.Schedule.rate(Duration.minutes(constants.REVIEW_MONITOR_INTERVAL_MINUTES)),
            targets=[targets.LambdaFunction(function, retry_attempts=0)],  # the next run comes soon anyway
        )
        return function

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
        datapoints_to_alarm: int | None = None,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=self._alarm_name(construct_id),
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        alarm.add_ok_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)
        return alarm

    def _dashboard(
        self,
        state_machine: sfn.StateMachine,
        oldest_review: cloudwatch.Metric,
        wait_threshold: int,
        subscribers: Subscribers,
        watched: list[WatchedQueue],
        durations: dict[str, lambda_.IFunction],
    ) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{self._prefix}-operations",
            default_interval=Duration.hours(6),
        )
        failed_by_reason = cloudwatch.MathExpression(
            expression=(
                f"SEARCH('{{{constants.METRICS_NAMESPACE},{constants.METRIC_ERROR_DIMENSION}}} "
                f"MetricName=\"{constants.METRIC_ORDERS_FAILED}\"', 'Sum', {int(PERIOD.to_seconds())})"
            ),
            label="",
            period=PERIOD,
        )
        third, half = ROW // 3, ROW // 2
        dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=(
                    "## Orders\nStart, follow and decide orders with `python -m orderctl` "
                    "(start, status, reviews, approve, reject, replay, redrive). Alarms go to the SNS topic "
                    "in the stack output AlarmTopicArn."
                ),
                width=ROW,
                height=2,
            )
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Orders started / succeeded / failed",
                left=[
                    state_machine.metric_started(period=PERIOD, statistic="Sum", label="started"),
                    state_machine.metric_succeeded(period=PERIOD, statistic="Sum", label="succeeded"),
                    state_machine.metric_failed(period=PERIOD, statistic="Sum", label="failed"),
                    state_machine.metric_timed_out(period=PERIOD, statistic="Sum", label="timed out"),
                    state_machine.metric_aborted(period=PERIOD, statistic="Sum", label="aborted"),
                ],
                width=third,
            ),
            cloudwatch.GraphWidget(title="Failed orders by reason", left=[failed_by_reason], width=third),
            cloudwatch.GraphWidget(
                title="Business: orders completed, reviews requested, revenue",
                left=[
                    business_metric(constants.METRIC_ORDERS_COMPLETED, label="orders completed"),
                    business_metric(constants.METRIC_REVIEWS_REQUESTED, label="reviews requested"),
                ],
                right=[business_metric(constants.METRIC_REVENUE_CENTS, label="revenue (cents)")],
                width=third,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Payment reviews waiting",
                left=[business_metric(constants.METRIC_REVIEWS_WAITING, "Maximum", "reviews waiting")],
                right=[oldest_review],
                right_annotations=[cloudwatch.HorizontalAnnotation(value=wait_threshold, label="alarm")],
                width=third,
            ),
            cloudwatch.GraphWidget(
                title="Subscriber errors",
                left=[
                    sub.function.metric_errors(period=PERIOD, statistic="Sum", label=name)
                    for name, sub in subscribers.subscribers.items()
                ],
                width=third,
            ),
            cloudwatch.GraphWidget(
                title="Dead-letter queues (messages waiting)",
                left=[
                    w.queue.metric_approximate_number_of_messages_visible(
                        period=PERIOD, statistic="Maximum", label=w.label
                    )
                    for w in watched
                ],
                width=third,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Lambda duration (p99, ms)",
                left=[f.metric_duration(period=PERIOD, statistic="p99", label=label) for label, f in durations.items()],
                width=half,
                height=8,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self._alarms_by_name(), width=half, height=8),
        )
        return dashboard

    def _alarm_name(self, construct_id: str) -> str:
        return f"{self._prefix}-{construct_id}"

    def _alarms_by_name(self) -> list[cloudwatch.IAlarm]:
        """The alarms as ARNs built from their names: the dashboard needs no attribute of theirs
        (so it deploys wherever they do, the offline sandbox included, which does not model alarms)."""
        return [
            cloudwatch.Alarm.from_alarm_arn(
                self,
                f"{alarm.node.id}Ref",
                f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:{self._alarm_name(alarm.node.id)}",
            )
            for alarm in self.alarms
        ]


def _camel(label: str) -> str:
    """Construct id part of a label: analytics subscriber -> Analytics, warehouse WH-EU-1 -> WarehouseWHEU1."""
    words = label.removesuffix(" subscriber").replace("-", " ").replace("_", " ").split()
    return "".join(word[:1].upper() + word[1:] for word in words)


def _hours(seconds: int) -> str:
    return f"{seconds / 3600:g} h"
