"""The alarm topic, and how every alarm of the stack is made (the workflow's, the subscribers', the
dead-letter queues', the review monitor's and the sweeper's).

- Alarm topic: SNS, encrypted with a customer managed KMS key (CloudWatch cannot publish to a topic
  under the AWS managed SNS key, whose policy cannot grant it), SSL only, e-mail to ``onCallEmail``.
- Every alarm is named ``OrderProcessing-<stage>-<construct id>``, notifies the topic on ALARM and on OK, and says in
  its description what to do (usually an orderctl command).
- Failed orders by reason, without extra code: a metric filter on the state machine's execution log
  (level ERROR, which keeps it): each ``{"type": "ExecutionFailed", "details": {"error": ..., "cause": ...}}`` event
  counts once under dimension ``error``. A second filter counts the failures that are not business
  outcomes (BUSINESS_ERRORS): those are faults and page at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import names
from infra.config import (
    ALARM_PERIOD_MINUTES,
    FAILURE_RATE_ALARM_MIN_ORDERS,
    FAILURE_RATE_ALARM_MINUTES,
    FAILURE_RATE_ALARM_PERCENT,
)
from infra.subscribers import Subscribers
from infra.warehouses import WarehouseQueues
from infra.workflow import OrderWorkflow
from lambdas.shared import constants

PERIOD = Duration.minutes(ALARM_PERIOD_MINUTES)
# Failures that are outcomes of a working shop (bad input, no stock, a declined card, a reviewer's
# "no"): counted, but only their rate alarms. Any other failure is a fault and alarms at once.
BUSINESS_ERRORS = (
    constants.ERROR_INVALID,
    constants.ERROR_UNDELIVERABLE,
    constants.ERROR_OUT_OF_STOCK,
    constants.ERROR_PRICE_MISMATCH,
    constants.ERROR_PAYMENT_DECLINED,
    constants.ERROR_REVIEW_REJECTED,
    constants.ERROR_REVIEW_TIMED_OUT,
)
CLOUDWATCH = iam.ServicePrincipal("cloudwatch.amazonaws.com")


def business_metric(
    namespace: str, name: str, statistic: str = "Sum", label: str | None = None, period: Duration = PERIOD
) -> cloudwatch.Metric:
    """A Powertools metric of our handlers in the stage's `namespace` (with the ``service`` dimension it adds)."""
    return cloudwatch.Metric(
        namespace=namespace,
        metric_name=name,
        dimensions_map={"service": constants.SERVICE_NAME},
        statistic=statistic,
        period=period,
        label=label,
    )


def failed_execution_pattern(excluded_errors: tuple[str, ...] = ()) -> logs.IFilterPattern:
    """ExecutionFailed events of the execution log, optionally without some named errors."""
    conditions = [logs.FilterPattern.string_value("$.type", "=", "ExecutionFailed")]
    conditions += [logs.FilterPattern.string_value("$.details.error", "!=", error) for error in excluded_errors]
    return logs.FilterPattern.all(*conditions)


@dataclass(frozen=True)
class WatchedQueue:
    label: str  # "analytics subscriber", "warehouse WH-EU-1"
    queue: sqs.IQueue
    remedy: str  # what the on-call person does about a message in it


def watched_queues(subscribers: Subscribers, warehouses: WarehouseQueues) -> list[WatchedQueue]:
    """Every dead-letter queue of the stack, with what to do about a message in it."""
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
    return watched


class Alarms:
    """The alarm topic (built in `scope`) and the alarms on it, wherever in the stack they are made; `namespace`
    is the stage's, of the metrics our functions publish and the stack derives (names.metrics_namespace)."""

    def __init__(self, scope: Construct, on_call_email: str | None, prefix: str, namespace: str) -> None:
        self._scope = scope
        self._prefix = prefix
        self.namespace = namespace
        self.topic = self._topic(on_call_email)
        # The alarms made in the topic's own scope (the workflow's, subscribers', queues', reviews').
        self.alarms: list[cloudwatch.Alarm] = []

    def add(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
        datapoints_to_alarm: int | None = None,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
        scope: Construct | None = None,
    ) -> cloudwatch.Alarm:
        """An alarm at ``>= threshold`` on the topic. `scope` is where it lives (its logical id follows
        it, and an alarm's name is fixed, so moving one replaces it under a name that is taken)."""
        alarm = cloudwatch.Alarm(
            scope or self._scope,
            construct_id,
            alarm_name=self.name_of(construct_id),
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
        if scope is None:
            self.alarms.append(alarm)
        return alarm

    def name_of(self, construct_id: str) -> str:
        return f"{self._prefix}-{construct_id}"

    def by_name(self, scope: Construct, alarms: list[cloudwatch.Alarm]) -> list[cloudwatch.IAlarm]:
        """The alarms as ARNs built from their names: a dashboard needs no attribute of theirs
        (so it deploys wherever they do, the offline sandbox included, which does not model alarms)."""
        return [
            cloudwatch.Alarm.from_alarm_arn(
                scope,
                f"{alarm.node.id}Ref",
                f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:{self.name_of(alarm.node.id)}",
            )
            for alarm in alarms
        ]

    def _topic(self, on_call_email: str | None) -> sns.Topic:
        key = kms.Key(
            self._scope,
            "AlarmTopicKey",
            description="Encrypts the alarm topic; CloudWatch may use it to publish alarms",
            enable_key_rotation=True,
        )
        key.grant(CLOUDWATCH, "kms:Decrypt", "kms:GenerateDataKey*")
        topic = sns.Topic(
            self._scope, "AlarmTopic", display_name="Order processing alarms", master_key=key, enforce_ssl=True
        )
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


def count_failed_orders(scope: Construct, workflow: OrderWorkflow, namespace: str) -> None:
    """The two metric filters on the execution log: failed orders by reason, and the unexpected ones."""
    logs.MetricFilter(
        scope,
        "FailedOrdersByReason",
        log_group=workflow.execution_log,
        filter_pattern=failed_execution_pattern(),
        metric_namespace=namespace,
        metric_name=names.METRIC_ORDERS_FAILED,
        metric_value="1",
        dimensions={names.METRIC_ERROR_DIMENSION: "$.details.error"},
    )
    logs.MetricFilter(
        scope,
        "UnexpectedFailures",
        log_group=workflow.execution_log,
        filter_pattern=failed_execution_pattern(BUSINESS_ERRORS),
        metric_namespace=namespace,
        metric_name=names.METRIC_ORDERS_FAILED_UNEXPECTEDLY,
        metric_value="1",
        default_value=0,
    )


def failed_orders_by_reason(namespace: str) -> cloudwatch.MathExpression:
    """One line per named error, from the FailedOrdersByReason filter."""
    return cloudwatch.MathExpression(
        expression=(
            f"SEARCH('{{{namespace},{names.METRIC_ERROR_DIMENSION}}} "
            f"MetricName=\"{names.METRIC_ORDERS_FAILED}\"', 'Sum', {int(PERIOD.to_seconds())})"
        ),
        label="",
        period=PERIOD,
    )


def add_order_alarms(alarms: Alarms, workflow: OrderWorkflow) -> None:
    """Unexpected failures (at once) and the failure rate of the orders started."""
    unexpected = cloudwatch.Metric(
        namespace=alarms.namespace,
        metric_name=names.METRIC_ORDERS_FAILED_UNEXPECTEDLY,
        statistic="Sum",
        period=PERIOD,
    )
    alarms.add(
        "OrdersFailedUnexpectedly",
        unexpected,
        threshold=1,
        description="An order failed with an error that is not a business outcome (e.g. "
        f"{constants.ERROR_COMPENSATION_FAILED}: money or stock may be left unreconciled). Find it in the "
        "state machine's executions (status Failed), read it with `python -m orderctl status <orderId>`.",
    )
    state_machine = workflow.state_machine
    rate_window = Duration.minutes(FAILURE_RATE_ALARM_MINUTES)
    failure_rate = cloudwatch.MathExpression(
        expression=f"IF(started >= {FAILURE_RATE_ALARM_MIN_ORDERS}, 100 * failed / started, 0)",
        using_metrics={
            "started": state_machine.metric_started(period=rate_window, statistic="Sum"),
            "failed": state_machine.metric_failed(period=rate_window, statistic="Sum"),
        },
        label="Failed orders (% of started)",
        period=rate_window,
    )
    alarms.add(
        "OrderFailureRateHigh",
        failure_rate,
        threshold=FAILURE_RATE_ALARM_PERCENT,
        description=f"At least {FAILURE_RATE_ALARM_PERCENT}% of the orders started in "
        f"{FAILURE_RATE_ALARM_MINUTES} minutes failed. The dashboard's 'Failed orders by reason' "
        "says which error (a stock-out, the payment gateway declining, prices out of date...); read one such "
        "order with `python -m orderctl status <orderId>`.",
    )


def add_delivery_alarms(alarms: Alarms, subscribers: Subscribers, watched: list[WatchedQueue]) -> None:
    """A message in any dead-letter queue; a subscriber failing in two periods of three."""
    for item in watched:
        alarms.add(
            "DeadLetters" + _camel(item.label),
            item.queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
            threshold=1,
            description=f"A message is waiting in the {item.label} dead-letter queue. {item.remedy}",
        )
    for name, sub in subscribers.subscribers.items():
        alarms.add(
            "SubscriberErrors" + _camel(name),
            sub.function.metric_errors(period=PERIOD, statistic="Sum"),
            threshold=1,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            description=f"The {name} subscriber keeps failing (errors in 2 of 3 periods of "
            f"{ALARM_PERIOD_MINUTES} min; a one-off is retried and not alarmed). Read its log group; "
            f"events it gives up on land in its dead-letter queue (`python -m orderctl redrive {name}`).",
        )
    if NOTIFICATIONS in subscribers.subscribers:
        add_email_alarm(alarms)
    add_refused_events_alarm(alarms)


NOTIFICATIONS = "notifications"


def emails_not_sent(namespace: str) -> cloudwatch.Metric:
    """E-mails SES refused for good (lambdas/subscribers/notifications): Powertools adds the subscriber dimension."""
    return cloudwatch.Metric(
        namespace=namespace,
        metric_name=constants.METRIC_EMAILS_NOT_SENT,
        dimensions_map={"service": constants.SERVICE_NAME, "subscriber": NOTIFICATIONS},
        statistic="Sum",
        period=PERIOD,
    )


def add_email_alarm(alarms: Alarms) -> None:
    """One alarm when SES refuses e-mails for good (recorded NOT_SENT, never retried, never dead-lettered)."""
    alarms.add(
        "EmailsNotSent",
        emails_not_sent(alarms.namespace),
        threshold=1,
        description="SES refused an e-mail for good (an unverified recipient while the account is in the SES "
        "sandbox, an address SES cannot send to, the MAIL FROM domain not verified). It is recorded as NOT_SENT "
        "with SES's reason in the notifications table (`status = NOT_SENT`) and not retried; `python -m orderctl "
        "status <orderId>` shows the order. docs/OPERATIONS.md (E-mail): request SES production access or fix the "
        "domain; to resend, delete the item and replay the order's event to notifications.",
    )


# The dimensions the subscribers' entry point records a refusal under (lambdas/subscribers/__init__.py: trusted):
# Powertools' service, then the subscriber and the reason (lambdas/subscribers/trust.py).
REFUSED_EVENT_DIMENSIONS = ("service", "subscriber", "reason")


def events_refused(namespace: str) -> cloudwatch.MathExpression:
    """Every event refused by any subscriber, for any reason, in the stage's `namespace`, as one series: a Metrics
    Insights query (an alarm may use one), so a subscriber added to the registry, or a new reason, is counted
    without touching this."""
    schema = ", ".join([f'"{namespace}"', *REFUSED_EVENT_DIMENSIONS])
    return cloudwatch.MathExpression(
        expression=f"SELECT SUM({constants.METRIC_EVENTS_REFUSED}) FROM SCHEMA({schema})",
        using_metrics={},
        label="Events refused (not the shop's)",
        period=PERIOD,
    )


def add_refused_events_alarm(alarms: Alarms) -> None:
    """One refused event alarms: whoever put it spoke for the shop and may not (issue 11). Nothing was applied."""
    alarms.add(
        "EventsRefused",
        events_refused(alarms.namespace),
        threshold=1,
        description="A subscriber refused an event that claimed to be the shop's: from another account "
        "(foreign-account), under a source its rule does not admit (unexpected-source), or an OrderCompleted for an "
        "order with no sale in the ledger (unknown-order). Nothing was applied, e-mailed or counted. Someone or "
        "something may put events on the bus it should not: the subscribers' logs say which ('event refused' with "
        "eventId, source, account, detailType; never the data), CloudTrail says who called PutEvents; check the bus "
        "policy and the publishers' roles (docs/SECURITY.md). For unknown-order, `python -m orderctl status "
        "<orderId>` shows whether the order exists.",
    )


def _camel(label: str) -> str:
    """Construct id part of a label: analytics subscriber -> Analytics, warehouse WH-EU-1 -> WarehouseWHEU1."""
    words = label.removesuffix(" subscriber").replace("-", " ").replace("_", " ").split()
    return "".join(word[:1].upper() + word[1:] for word in words)
