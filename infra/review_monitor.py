"""The review monitor: a scheduled function that counts the orders waiting for a payment reviewer.

Every REVIEW_MONITOR_INTERVAL_MINUTES it reports ReviewsWaiting and OldestReviewWaitSeconds (Powertools
metrics; see lambdas/review_monitor/logic.py for why it reads running executions), and one alarm
fires when the oldest review has waited a share of the review timeout. Least privilege: it lists
this workflow's executions and batch-reads payments, nothing else.
(The sweeper, infra/sweeper.py, is the other scheduled function: same shape.)
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from constructs import Construct

from infra import names
from infra.alarms import Alarms, business_metric
from infra.config import REVIEW_MONITOR_INTERVAL_MINUTES, REVIEW_WAIT_ALARM_FRACTION, StackConfig
from infra.data import OrderTables
from infra.functions import FunctionFactory
from infra.workflow import OrderWorkflow
from lambdas.shared import constants

# The review monitor's handler (relative to the asset root).
REVIEW_MONITOR_HANDLER = "lambdas.review_monitor.handler.handler"


class ReviewMonitor:
    """The function, its schedule and its alarm, made in `scope` (the observability construct)."""

    def __init__(
        self,
        scope: Construct,
        config: StackConfig,
        functions: FunctionFactory,
        tables: OrderTables,
        workflow: OrderWorkflow,
    ) -> None:
        self.function = functions.create(
            scope,
            "ReviewMonitor",
            REVIEW_MONITOR_HANDLER,
            "Review monitor: how many orders wait for a payment reviewer, and the oldest wait",
            environment={
                constants.ENV_STATE_MACHINE_ARN: workflow.state_machine.state_machine_arn,
                constants.ENV_PAYMENTS_TABLE: tables.payments.table_name,
            },
        )
        workflow.grant_list_executions(self.function)
        tables.payments.grant(self.function, "dynamodb:BatchGetItem")
        events.Rule(
            scope,
            "ReviewMonitorSchedule",
            description="Counts the orders waiting for a payment reviewer",
            schedule=events.Schedule.rate(Duration.minutes(REVIEW_MONITOR_INTERVAL_MINUTES)),
            targets=[targets.LambdaFunction(self.function, retry_attempts=0)],  # the next run comes soon anyway
        )
        self.review_timeout_seconds = config.review_timeout_seconds
        self.wait_threshold = int(config.review_timeout_seconds * REVIEW_WAIT_ALARM_FRACTION)
        namespace = names.metrics_namespace(config.stage)
        self.reviews_waiting = business_metric(
            namespace, constants.METRIC_REVIEWS_WAITING, "Maximum", "reviews waiting"
        )
        self.oldest_review = business_metric(
            namespace, constants.METRIC_OLDEST_REVIEW_WAIT, "Maximum", "Oldest review waiting (s)"
        )

    def add_alarm(self, alarms: Alarms) -> cloudwatch.Alarm:
        return alarms.add(
            "ReviewWaitingTooLong",
            self.oldest_review,
            threshold=self.wait_threshold,
            evaluation_periods=2,
            missing=cloudwatch.TreatMissingData.BREACHING,
            description=f"A payment review has waited {_hours(self.wait_threshold)} or more; after "
            f"{_hours(self.review_timeout_seconds)} the order is cancelled (Order.ReviewTimedOut). "
            "List them: `python -m orderctl reviews`; decide: `orderctl approve|reject <orderId>`. "
            "No data at all means the review monitor itself stopped reporting: check its logs.",
        )

    def widget(self, width: int) -> cloudwatch.GraphWidget:
        return cloudwatch.GraphWidget(
            title="Payment reviews waiting",
            left=[self.reviews_waiting],
            right=[self.oldest_review],
            right_annotations=[cloudwatch.HorizontalAnnotation(value=self.wait_threshold, label="alarm")],
            width=width,
        )


def _hours(seconds: int) -> str:
    return f"{seconds / 3600:g} h"
