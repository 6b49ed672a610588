"""The subscribers of the order bus: a registry, and the construct that builds each entry.

Adding a subscriber = one folder `lambdas/subscribers/<name>/` (handler.py + logic.py) and one
`SubscriberSpec` in `REGISTRY` below. The workflow never changes: it publishes, the rules route.

Each entry becomes its own Lambda function (through FunctionFactory), its own rule on the bus
with the entry's event pattern, and its own SQS dead-letter queue (whole events: under the subscribers'
customer managed KMS key). Delivery has two retry stages and both end in that queue: EventBridge retries
an invoke that fails (throttling, service errors) under the target's retry policy, and Lambda retries a
run that raises (async invocation config). Handlers must be idempotent on a business key: EventBridge
delivers at least once and archive replays deliver again.

An entry with a ``buffer`` (notifications: SES's sending rate is far below a flash sale's order rate) gets
an SQS queue between its rule and its function instead: the rule targets the queue, Lambda reads it in
batches with a bounded concurrency (``ScalingConfig.MaximumConcurrency``), the function reports the
messages that failed (``ReportBatchItemFailures``), which come back after the visibility timeout, and a
message received ``max_receive_count`` times moves to the same dead-letter queue.

A buffer reads one message per invoke (``batch_size`` 1): a message is dead-lettered for its own failures only.
``ReportBatchItemFailures`` isolates a message's error, but a run that crashes (a timeout, out of memory, the
runtime exiting) fails its whole batch, and SQS counts receives, not failures: in batches, a message that keeps
crashing its run takes its batch-mates to ``max_receive_count`` with it (the reliability suite found exactly
that). Lambda has no bisect-on-error for SQS sources (only for streams), so the batch is one message; the
bound on concurrency, not the batch, is what protects the downstream, and a Lambda request costs $0.20 a million.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Acknowledgment, Aws, CfnOutput, Duration, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import defaults, nag
from infra.audit import checkpoint_environment, grant_checkpoints
from infra.bus import grant_publish
from infra.config import DEAD_LETTER_RETENTION_DAYS, LAMBDA_TIMEOUT_SECONDS, MARKER_TTL_MARGIN_DAYS, StackConfig
from infra.data import OrderTables, marker_table
from infra.email import grant_send_as
from infra.functions import FunctionFactory
from infra.grants import APPEND_ONLY, CATALOG, COUNTERS, TABLE_ENV, TableAccess, grant_table
from infra.names import OUR_EVENT_SOURCES
from infra.workflow import OrderWorkflow
from lambdas.shared import constants


@dataclass(frozen=True)
class Context:
    """What a subscriber's `environment` and `grant` hooks may use."""

    config: StackConfig
    bus: events.IEventBus
    tables: OrderTables
    workflow: OrderWorkflow | None = None  # for a subscriber that starts orders


@dataclass(frozen=True)
class QueueBuffer:
    """An SQS queue in front of a subscriber's function, read with bounded concurrency (see the module's docstring).

    A message that keeps failing is received ``max_receive_count`` times, ``visibility_timeout_seconds`` apart,
    before it is dead-lettered: that product is the backlog (at the downstream's rate) the buffer absorbs.
    """

    max_concurrency: int  # Lambda's ScalingConfig: at least 2
    visibility_timeout_seconds: int
    max_receive_count: int


@dataclass(frozen=True)
class SubscriberSpec:
    """One subscriber: what it is, what it listens to, and what it may touch."""

    name: str  # snake_case; the folder under lambdas/subscribers/ and the construct id
    handler: str  # "lambdas.subscribers.<name>.handler.handler"
    event_pattern: Mapping[str, Any]  # an EventBridge event pattern, exactly as in the rule
    description: str
    # Its own DynamoDB table (pk, sk; TTL on `expiresAt`), named in SUBSCRIBER_TABLE_NAME, and the operations its
    # store calls on it (infra/grants.py), or None.
    own_table: TableAccess | None = None
    # The stack's order tables it uses and the operations it calls on each, e.g. {"inventory": CATALOG}
    # (env: INVENTORY_TABLE_NAME).
    tables: Mapping[str, TableAccess] = field(default_factory=dict)
    # May publish on the order bus (env: EVENT_BUS_NAME).
    publishes: bool = False
    environment: Callable[[Context], dict[str, str]] | None = None
    grant: Callable[[lambda_.IFunction, Context], None] | None = None
    retry_attempts: int = defaults.SUBSCRIBER_RETRY_ATTEMPTS
    max_event_age_seconds: int = constants.SUBSCRIBER_MAX_EVENT_AGE_SECONDS
    timeout_seconds: int = LAMBDA_TIMEOUT_SECONDS
    buffer: QueueBuffer | None = None  # an SQS queue between its rule and its function


def order_events(*detail_types: str) -> dict[str, Any]:
    """Pattern for our events of these types in the current major version.

    Pinning the version means a breaking v2 event never reaches a v1 consumer.
    """
    return {
        "source": [constants.EVENT_SOURCE],
        "detail-type": list(detail_types),
        "detail": {"metadata": {"eventVersion": [constants.EVENT_VERSION]}},
    }


def marketplace_events(*detail_types: str) -> dict[str, Any]:
    """Pattern for events of these types from any marketplace connector (lambdas/marketplaces/), current version."""
    return {
        "source": [{"prefix": constants.MARKETPLACE_SOURCE_PREFIX}],
        "detail-type": list(detail_types),
        "detail": {"metadata": {"eventVersion": [constants.EVENT_VERSION]}},
    }


def _workflow(ctx: Context) -> OrderWorkflow:
    if ctx.workflow is None:
        raise ValueError("this subscriber starts orders: build Subscribers with the workflow")
    return ctx.workflow


def _state_machine_arn(ctx: Context) -> dict[str, str]:
    return {constants.ENV_STATE_MACHINE_ARN: _workflow(ctx).state_machine.state_machine_arn}


def _grant_start_orders(function: lambda_.IFunction, ctx: Context) -> None:
    """StartExecution on the order workflow, and DescribeExecution of its executions (a redelivery's check)."""
    _workflow(ctx).state_machine.grant_start_execution(function)
    _workflow(ctx).grant_read_executions(function)  # type: ignore[arg-type]


def _ses_sender(ctx: Context) -> dict[str, str]:
    return {constants.ENV_NOTIFICATION_SENDER: ctx.config.notification_sender}


def _grant_ses_send(function: lambda_.IFunction, ctx: Context) -> None:
    """ses:SendEmail from the configured sender, to customers (infra/email.py)."""
    grant_send_as(function, ctx.config.notification_sender)


REGISTRY: list[SubscriberSpec] = [
    SubscriberSpec(
        name="inventory",
        handler="lambdas.subscribers.inventory.handler.handler",
        # OrderCompleted only: its own ReorderSuggested must never come back to it.
        event_pattern=order_events(constants.EVENT_ORDER_COMPLETED),
        description="Inventory: held stock becomes sold; sales velocity; publishes ReorderSuggested",
        # store: record_sales (a marker Put and counter Updates), is_done (GetItem), mark_done and
        # mark_suggestion_published (UpdateItem), daily_units (Query), claim_suggestion (PutItem)
        own_table=("GetItem", "PutItem", "UpdateItem", "Query"),
        # sell_held_stock (Query, a transaction of Updates), stock_levels (Query, BatchGetItem), get_catalog
        tables={"inventory": ("BatchGetItem", "Query", "UpdateItem")},
        publishes=True,
    ),
    SubscriberSpec(
        name="analytics",
        handler="lambdas.subscribers.analytics.handler.handler",
        event_pattern=order_events(constants.EVENT_ORDER_COMPLETED),
        description="Analytics: orders, units, revenue per day x SKU x site variant",
        own_table=COUNTERS,  # store.record_order
    ),
    SubscriberSpec(
        name="audit",
        handler="lambdas.subscribers.audit.handler.handler",
        event_pattern={"source": list(OUR_EVENT_SOURCES)},
        description="Audit: every event from our sources, append-only, hash-chained, anchored in a locked bucket",
        own_table=APPEND_ONLY,
        environment=checkpoint_environment,  # infra/audit.py: the write-once checkpoints
        grant=grant_checkpoints,
    ),
    SubscriberSpec(
        name="notifications",
        handler="lambdas.subscribers.notifications.handler.handler",
        # ShipmentAssigned: the tracking e-mail, a reaction to the logistics subscriber's reaction.
        event_pattern=order_events(constants.EVENT_ORDER_COMPLETED, constants.EVENT_SHIPMENT_ASSIGNED),
        description="Notifications: the order confirmation and the tracking e-mail through SES",
        own_table=("GetItem", "PutItem", "UpdateItem"),  # store: claim (PutItem, GetItem), release, mark_sent...
        environment=_ses_sender,
        grant=_grant_ses_send,
        # SES sends 1 e-mail/s in the SES sandbox, 14/s by default in production. Two readers, one message each;
        # once throttled, each paces its sends to half the account's rate (handler.Pace), so a flash sale's
        # e-mails wait in the queue unread. A message that still fails comes back after 6 minutes (6 x the
        # function's timeout, as AWS advises) and is dead-lettered on its 10th receive, an hour later.
        buffer=QueueBuffer(max_concurrency=2, visibility_timeout_seconds=360, max_receive_count=10),
        timeout_seconds=60,  # an e-mail waiting its turn at 1 e-mail/s shared by 2 readers: 2 s, and SES's latency
    ),
    SubscriberSpec(
        name="failure_stats",
        handler="lambdas.subscribers.failure_stats.handler.handler",
        event_pattern=order_events(constants.EVENT_ORDER_FAILED),
        description="Failure stats: failed orders per day x named error",
        own_table=COUNTERS,  # add_once
    ),
    SubscriberSpec(
        name="marketplace_intake",
        handler="lambdas.subscribers.marketplace_intake.handler.handler",
        event_pattern=marketplace_events(constants.EVENT_MARKETPLACE_ORDER_RECEIVED),
        description="Marketplace intake: a marketplace's or store's order enters the order workflow, once",
        environment=_state_machine_arn,
        grant=_grant_start_orders,
    ),
    SubscriberSpec(
        name="logistics",
        handler="lambdas.subscribers.logistics.handler.handler",
        # Shipped orders only: a store's handed-over sale has no parcel.
        event_pattern={
            **order_events(constants.EVENT_ORDER_COMPLETED),
            "detail": {
                "metadata": {"eventVersion": [constants.EVENT_VERSION]},
                "data": {"fulfilment": [constants.FULFILMENT_SHIPPED]},
            },
        },
        description="Logistics: books the cheapest delivery partner that keeps the promise; publishes ShipmentAssigned",
        # store: get, the _set updates; carriers: the simulated carriers' bookings (PutItem, GetItem)
        own_table=("GetItem", "PutItem", "UpdateItem"),
        tables={"inventory": CATALOG},  # the catalog's weights
        publishes=True,
    ),
]


def trust_environment(spec: SubscriberSpec, config: StackConfig) -> dict[str, str]:
    """What the shared entry point checks an event against (lambdas/subscribers/trust.py): the sources its rule
    admits, and for a rule that admits marketplace sources, the other accounts the bus lets publish them."""
    sources = list(spec.event_pattern["source"])
    env = {constants.ENV_EXPECTED_SOURCES: json.dumps(sources)}
    if any(isinstance(s, dict) or str(s).startswith(constants.MARKETPLACE_SOURCE_PREFIX) for s in sources):
        partners = sorted({*config.allowed_accounts, *config.marketplace_accounts.values()})
        env[constants.ENV_PARTNER_ACCOUNTS] = json.dumps(partners)
    return env


def hears_order_completed(pattern: Mapping[str, Any]) -> bool:
    """Does the rule admit our OrderCompleted (the entry point then checks the sale in the ledger)?"""
    return constants.EVENT_SOURCE in pattern.get("source", []) and constants.EVENT_ORDER_COMPLETED in pattern.get(
        "detail-type", [constants.EVENT_ORDER_COMPLETED]
    )


def construct_id(name: str) -> str:
    """snake_case name -> CamelCase construct id ("order_alerts" -> "OrderAlerts")."""
    return "".join(part.capitalize() for part in name.split("_"))


def cdk_event_pattern(pattern: Mapping[str, Any]) -> events.EventPattern:
    """The registry's JSON pattern as CDK's EventPattern (same JSON in the template)."""
    return events.EventPattern(**{key.replace("-", "_"): _typed(value) for key, value in pattern.items()})


def _typed(value: Any) -> Any:
    """A top-level ``[{"prefix": p}]`` (source, detail-type) as CDK types it: ``Match.prefix(p)`` (same JSON)."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict) and set(value[0]) == {"prefix"}:
        return events.Match.prefix(value[0]["prefix"])
    return value


class Subscriber(Construct):
    """One registry entry: function, dead-letter queue, rule with retry policy, optional table."""

    def __init__(
        self, scope: Construct, spec: SubscriberSpec, ctx: Context, functions: FunctionFactory, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id(spec.name))
        self.spec = spec
        env: dict[str, str] = {
            # Markers outlive every redelivery: archive replays and a dead-letter redrive.
            constants.ENV_MARKER_TTL_DAYS: str(ctx.config.archive_retention_days + MARKER_TTL_MARGIN_DAYS),
        }
        self.table: dynamodb.Table | None = None
        if spec.own_table:
            self.table = marker_table(self, "Table")
            if spec.own_table == APPEND_ONLY:
                cfn_table: dynamodb.CfnTable = self.table.node.default_child  # type: ignore[assignment]
                cfn_table.deletion_protection_enabled = True
            env[constants.ENV_SUBSCRIBER_TABLE] = self.table.table_name
        for table_name in spec.tables:
            env[TABLE_ENV[table_name]] = getattr(ctx.tables, table_name).table_name
        if spec.publishes:
            env[constants.ENV_EVENT_BUS] = ctx.bus.event_bus_name
        if spec.environment:
            env.update(spec.environment(ctx))
        if spec.buffer:
            env[constants.ENV_BUFFER_MAX_CONCURRENCY] = str(spec.buffer.max_concurrency)
        env.update(trust_environment(spec, ctx.config))
        if hears_order_completed(spec.event_pattern):
            env[constants.ENV_LEDGER_TABLE] = ctx.tables.ledger.table_name

        self.function = functions.create(
            self, "Function", spec.handler, spec.description, environment=env, timeout_seconds=spec.timeout_seconds
        )
        if self.table and spec.own_table:
            grant_table(self.table, self.function, spec.own_table)
        for table_name, access in spec.tables.items():
            grant_table(getattr(ctx.tables, table_name), self.function, access)
        if spec.publishes:
            grant_publish(ctx.bus, self.function, constants.EVENT_SOURCE)
        if spec.grant:
            spec.grant(self.function, ctx)
        if hears_order_completed(spec.event_pattern):
            ctx.tables.ledger.grant(self.function, "dynamodb:GetItem")  # the entry point: was the order sold?

        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=Duration.days(DEAD_LETTER_RETENTION_DAYS),
        )
        nag.acknowledge_dead_letter_queue(self.dead_letter_queue)
        max_age = Duration.seconds(spec.max_event_age_seconds)
        self.function.configure_async_invoke(
            on_failure=destinations.SqsDestination(self.dead_letter_queue),
            retry_attempts=constants.SUBSCRIBER_ASYNC_RETRY_ATTEMPTS,
            max_event_age=max_age,
        )
        for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
            Validations.of(self.function).acknowledge(
                Acknowledgment(
                    id=f"{nag.PACK}AwsSolutions-IAM5[Action::{action}]",
                    reason="CDK's grant to send to a queue under a customer managed key (the dead-letter queue, "
                    "Lambda's on-failure destination): on that one key only, which encrypts nothing but these queues.",
                )
            )
        self.buffer: sqs.Queue | None = None
        delivery: dict[str, Any] = {
            "dead_letter_queue": self.dead_letter_queue,
            "retry_attempts": spec.retry_attempts,
            "max_event_age": max_age,
        }
        target: events.IRuleTarget
        if spec.buffer is None:
            target = targets.LambdaFunction(self.function, **delivery)
        else:
            self.buffer = self._buffer(spec.buffer, key)
            target = targets.SqsQueue(self.buffer, **delivery)
        self.rule = events.Rule(
            self,
            "Rule",
            event_bus=ctx.bus,
            event_pattern=cdk_event_pattern(spec.event_pattern),
            description=spec.description,
            targets=[target],
        )

    def _buffer(self, buffer: QueueBuffer, key: kms.IKey) -> sqs.Queue:
        queue = sqs.Queue(
            self,
            "Buffer",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(buffer.visibility_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=buffer.max_receive_count, queue=self.dead_letter_queue
            ),
        )
        self.function.add_event_source(
            event_sources.SqsEventSource(
                queue,
                batch_size=1,  # a message dead-lettered for its own failures only (the module's docstring)
                max_concurrency=buffer.max_concurrency,
                report_batch_item_failures=True,
            )
        )
        return queue


def queue_key(scope: Construct) -> kms.Key:
    """The customer managed key of the subscribers' queues (dead letters hold whole events: customer e-mails,
    reviewers' notes). EventBridge encrypts what it puts there with it."""
    key = kms.Key(
        scope,
        "QueueKey",
        description="Encrypts the subscribers' dead-letter queues and the notifications buffer (whole order events)",
        enable_key_rotation=True,
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            resources=["*"],  # in a key policy: this key
            conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
        )
    )
    return key


class Subscribers(Construct):
    """Every entry of the registry, plus outputs operators use (tables, dead-letter queues)."""

    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        config: StackConfig,
        functions: FunctionFactory,
        bus: events.IEventBus,
        tables: OrderTables,
        registry: list[SubscriberSpec] | None = None,
        workflow: OrderWorkflow | None = None,
    ) -> None:
        super().__init__(scope, construct_id_)
        ctx = Context(config=config, bus=bus, tables=tables, workflow=workflow)
        specs = REGISTRY if registry is None else registry
        validate(specs)
        self.queue_key = queue_key(self)
        self.subscribers = {spec.name: Subscriber(self, spec, ctx, functions, self.queue_key) for spec in specs}
        for name, sub in self.subscribers.items():
            prefix = construct_id(name) + constants.OUTPUT_SUBSCRIBER_INFIX
            CfnOutput(
                scope, prefix + constants.OUTPUT_SUBSCRIBER_DEAD_LETTER_QUEUE, value=sub.dead_letter_queue.queue_url
            )
            if sub.table:
                CfnOutput(scope, prefix + constants.OUTPUT_SUBSCRIBER_TABLE, value=sub.table.table_name)


_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def validate(specs: list[SubscriberSpec]) -> None:
    """Fail the synth on a registry mistake rather than deploy it."""
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"subscriber names must be unique: {names}")
    for spec in specs:
        if not _NAME.match(spec.name):
            raise ValueError(f"subscriber name {spec.name!r}: use snake_case (it names a folder and constructs)")
        if not spec.event_pattern:
            raise ValueError(f"subscriber {spec.name!r}: an empty pattern would match every event")
        if not spec.event_pattern.get("source"):
            raise ValueError(f"subscriber {spec.name!r}: name the sources it hears (the entry point refuses others)")
        if unknown := set(spec.tables) - set(TABLE_ENV):
            raise ValueError(f"subscriber {spec.name!r}: unknown tables {sorted(unknown)}")
        if spec.buffer and spec.buffer.visibility_timeout_seconds < spec.timeout_seconds:
            raise ValueError(
                f"subscriber {spec.name!r}: the buffer's visibility timeout "
                f"({spec.buffer.visibility_timeout_seconds} s) must be at least the function's timeout "
                f"({spec.timeout_seconds} s), or a batch still running is handed out again"
            )
        if spec.buffer and not 2 <= spec.buffer.max_concurrency <= 1000:
            raise ValueError(f"subscriber {spec.name!r}: the buffer's max_concurrency must be 2..1000 (Lambda's range)")
