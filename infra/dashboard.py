"""The operations dashboard: orders, failures by reason, business metrics, reviews waiting, subscriber
errors, dead letters, Lambda durations and the alarms; other parts of the stack add their own rows
(the sweeper does, through `add_row`).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import names, regions
from infra.alarms import PERIOD, Alarms, WatchedQueue, business_metric, failed_orders_by_reason
from infra.review_monitor import ReviewMonitor
from infra.subscribers import Subscribers
from infra.workflow import OrderWorkflow
from lambdas.shared import constants

# Width of a dashboard row (CloudWatch's grid is 24 units wide).
ROW = 24


def _duration(label: str, function: lambda_.IFunction) -> cloudwatch.IMetric:
    """Its p99 duration; a function left out where the region lacks its service (infra/regions.py) graphs
    the name "none" there, which has no data."""
    condition = regions.condition_of(function)
    if condition is None:
        return function.metric_duration(period=PERIOD, statistic="p99", label=label)
    return cloudwatch.Metric(
        namespace="AWS/Lambda",
        metric_name="Duration",
        dimensions_map={"FunctionName": regions.where(condition, function.function_name, "none")},
        period=PERIOD,
        statistic="p99",
        label=label,
    )


class OperationsDashboard:
    """The dashboard, made in `scope` (the observability construct)."""

    def __init__(
        self,
        scope: Construct,
        prefix: str,
        alarms: Alarms,
        workflow: OrderWorkflow,
        subscribers: Subscribers,
        review_monitor: ReviewMonitor,
        watched: list[WatchedQueue],
    ) -> None:
        self._scope = scope
        self._alarms = alarms
        self.dashboard = cloudwatch.Dashboard(
            scope,
            "Dashboard",
            dashboard_name=f"{prefix}-operations",
            default_interval=Duration.hours(6),
        )
        state_machine = workflow.state_machine
        third, half = ROW // 3, ROW // 2
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=(
                    "## Orders\nStart, follow and decide orders with `python -m orderctl` "
                    "(start, status, reviews, approve, reject, replay, redrive). Alarms go to the SNS topic "
                    f"in the stack output {names.OUTPUT_ALARM_TOPIC_ARN}."
                ),
                width=ROW,
                height=2,
            )
        )
        self.dashboard.add_widgets(
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
            cloudwatch.GraphWidget(
                title="Failed orders by reason", left=[failed_orders_by_reason(alarms.namespace)], width=third
            ),
            cloudwatch.GraphWidget(
                title="Business: orders completed, reviews requested, revenue",
                left=[
                    business_metric(alarms.namespace, constants.METRIC_ORDERS_COMPLETED, label="orders completed"),
                    business_metric(alarms.namespace, constants.METRIC_REVIEWS_REQUESTED, label="reviews requested"),
                ],
                right=[business_metric(alarms.namespace, constants.METRIC_REVENUE_CENTS, label="revenue (cents)")],
                width=third,
            ),
        )
        self.dashboard.add_widgets(
            review_monitor.widget(third),
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
        durations: dict[str, lambda_.IFunction] = {spec.state: workflow.function_of(spec) for spec in workflow.tasks}
        durations["DecidePaymentReview"] = workflow.review_decision_function
        durations.update({f"{name} subscriber": sub.function for name, sub in subscribers.subscribers.items()})
        durations["ReviewMonitor"] = review_monitor.function
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Lambda duration (p99, ms)",
                left=[f.metric_duration(period=PERIOD, statistic="p99", label=label) for label, f in durations.items()],
                width=half,
                height=8,
            ),
            cloudwatch.AlarmStatusWidget(
                title="Alarms", alarms=alarms.by_name(scope, alarms.alarms), width=half, height=8
            ),
        )

    @property
    def dashboard_name(self) -> str:
        return self.dashboard.dashboard_name

    def add_durations(self, title: str, functions: Mapping[str, lambda_.IFunction]) -> None:
        """A row with the p99 duration of functions made after the dashboard (connectors, API, back-office)."""
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title=title,
                left=[_duration(label, f) for label, f in functions.items()],
                width=ROW,
                height=6,
            )
        )

    def add_row(self, *widgets: cloudwatch.IWidget) -> None:
        self.dashboard.add_widgets(*widgets)

    def alarm_status(
        self, scope: Construct, title: str, alarms: list[cloudwatch.Alarm], width: int
    ) -> cloudwatch.IWidget:
        """A status widget of alarms made elsewhere (referenced by name, see Alarms.by_name)."""
        return cloudwatch.AlarmStatusWidget(title=title, alarms=self._alarms.by_name(scope, alarms), width=width)
