"""The one module that owns names and tunables.

The CDK stack (`infra/`), the ASL substitutions (`statemachines/`), the Lambda handlers
(`lambdas/`) and the offline sandbox all read these values; none of them retypes one.
Tunables here are defaults: `infra/config.py` lets cdk.json / `-c key=value` override them.
Names and tunables only the stack uses live in `infra/` (`names.py`, `config.py`), not here.
"""

from __future__ import annotations

from typing import Final

# ---------------------------------------------------------------------------
# Service identity
# ---------------------------------------------------------------------------
SERVICE_NAME: Final = "orders"
STACK_NAME: Final = "OrderProcessing"
# A stage (`cdk deploy -c stage=NAME`) is an independent copy of the stack; the default one keeps STACK_NAME.
DEFAULT_STAGE: Final = "dev"
# A stage name goes into the stack name, SSM paths, alarm names and the bus policy's statement id (64 characters).
STAGE_PATTERN: Final = r"^[a-z][a-z0-9-]{0,19}$"


def stack_name(stage: str) -> str:
    """The CloudFormation stack of a stage (the stack, `orderctl --stage` and the sandbox name it alike):
    the default stage keeps STACK_NAME; any other is "OrderProcessing-<stage>"."""
    return STACK_NAME if stage == DEFAULT_STAGE else f"{STACK_NAME}-{stage}"


# ---------------------------------------------------------------------------
# Events on the order bus (the contract other teams subscribe to)
# ---------------------------------------------------------------------------
EVENT_SOURCE: Final = "com.example.orders"
EVENT_ORDER_COMPLETED: Final = "OrderCompleted"
EVENT_ORDER_FAILED: Final = "OrderFailed"
EVENT_PAYMENT_REVIEW_REQUESTED: Final = "PaymentReviewRequested"
EVENT_REORDER_SUGGESTED: Final = "ReorderSuggested"
EVENT_SHIPMENT_ASSIGNED: Final = "ShipmentAssigned"
# Marketplace connectors (lambdas/marketplaces/) publish under their own source: this prefix + their name.
EVENT_MARKETPLACE_ORDER_RECEIVED: Final = "MarketplaceOrderReceived"
MARKETPLACE_SOURCE_PREFIX: Final = "com.example.marketplace."
EVENT_VERSION: Final = "1"
WORKFLOW_PRODUCER: Final = "order-workflow"

# ---------------------------------------------------------------------------
# Named errors (Step Functions error names; Lambda exceptions carry them as their type)
# ---------------------------------------------------------------------------
ERROR_INVALID: Final = "Order.Invalid"
ERROR_UNDELIVERABLE: Final = "Order.Undeliverable"
ERROR_OUT_OF_STOCK: Final = "Order.OutOfStock"
ERROR_PRICE_MISMATCH: Final = "Order.PriceMismatch"
ERROR_PAYMENT_DECLINED: Final = "Order.PaymentDeclined"
ERROR_REVIEW_REJECTED: Final = "Order.ReviewRejected"
ERROR_REVIEW_TIMED_OUT: Final = "Order.ReviewTimedOut"
# The review task was answered but no approval is recorded (not the decision path): a fault, it pages.
ERROR_REVIEW_NOT_RECORDED: Final = "Order.ReviewNotRecorded"
ERROR_COMPENSATION_FAILED: Final = "Order.CompensationFailed"
# A step that kept timing out, retries included (a Fail state may not report States.Timeout itself).
ERROR_STEP_TIMED_OUT: Final = "Order.StepTimedOut"
# A step that failed on the AWS side with another States.* error (e.g. States.TaskFailed), named likewise.
ERROR_STEP_FAILED: Final = "Order.StepFailed"

# ---------------------------------------------------------------------------
# Environment variables the stack sets and the handlers read
# ---------------------------------------------------------------------------
ENV_INVENTORY_TABLE: Final = "INVENTORY_TABLE_NAME"
ENV_PAYMENTS_TABLE: Final = "PAYMENTS_TABLE_NAME"
ENV_LEDGER_TABLE: Final = "LEDGER_TABLE_NAME"
# The simulated payment gateway's own records (the provider's side, not our payments table).
ENV_GATEWAY_LEDGER_TABLE: Final = "GATEWAY_LEDGER_TABLE_NAME"
ENV_EVENT_BUS: Final = "EVENT_BUS_NAME"
ENV_WAREHOUSES: Final = "WAREHOUSES_JSON"
ENV_PRICING: Final = "PRICING_JSON"
ENV_PAYMENT_REVIEW_THRESHOLD: Final = "PAYMENT_REVIEW_THRESHOLD_CENTS"
ENV_REVIEW_TIMEOUT_SECONDS: Final = "REVIEW_TIMEOUT_SECONDS"

# ---------------------------------------------------------------------------
# Workflow: task Lambdas, keyed by the ASL substitution that carries each ARN.
# The handler path is relative to the repository root, which is also the asset root.
# ---------------------------------------------------------------------------
TASK_FUNCTIONS: Final[dict[str, str]] = {
    "ValidateOrderFunctionArn": "lambdas.validate_order.handler.handler",
    "ReserveStockFunctionArn": "lambdas.reserve_stock.handler.handler",
    "PriceOrderFunctionArn": "lambdas.price_order.handler.handler",
    "CollectPaymentFunctionArn": "lambdas.collect_payment.handler.handler",
    "WaitForPaymentReviewFunctionArn": "lambdas.wait_for_payment_review.handler.handler",
    "RecordAccountingFunctionArn": "lambdas.record_accounting.handler.handler",
    "RefundPaymentFunctionArn": "lambdas.refund_payment.handler.handler",
    "ReleaseStockFunctionArn": "lambdas.release_stock.handler.handler",
}
REVIEW_DECISION_HANDLER: Final = "lambdas.decide_payment_review.handler.handler"

# ---------------------------------------------------------------------------
# Tunables (defaults; override with CDK context, see infra/config.py)
# ---------------------------------------------------------------------------
LAMBDA_MEMORY_MB: Final = 256

# Limits of a valid order (DynamoDB transactions cap at 100 items: 2 per line on reserve).
MAX_ORDER_LINES: Final = 25
MAX_LINE_QUANTITY: Final = 1_000
# Hot products: a SKU's stock in one warehouse is split over this many items (catalog "stockShards"
# overrides it per SKU), each on its own partition, so holds spread over their write limits
# (docs/HOT-PRODUCT.md). 1 = one stock item, as before sharding.
DEFAULT_STOCK_SHARDS: Final = 1
MAX_STOCK_SHARDS: Final = 32
ORDER_ID_PATTERN: Final = r"^[A-Za-z0-9_-]{1,64}$"
SKU_PATTERN: Final = r"^[A-Z0-9][A-Z0-9-]{0,39}$"

# Pricing: tax rate per country (basis points), flat shipping per order (cents) and the
# order subtotal from which shipping is free.
DEFAULT_PRICING: Final[dict[str, object]] = {
    "currency": "EUR",
    "taxRateBasisPoints": {
        "DE": 1900,
        "AT": 2000,
        "FR": 2000,
        "NL": 2100,
        "BE": 2100,
        "LU": 1700,
        "IT": 2200,
        "ES": 2100,
        "PL": 2300,
        "GB": 2000,
        "IE": 2300,
        "US": 0,
        "CA": 500,
    },
    "shippingCents": 495,
    "freeShippingFromCents": 5_000,
}

# ---------------------------------------------------------------------------
# Choreography: the bus, its contract and the subscribers (infra/bus.py, infra/subscribers.py)
# ---------------------------------------------------------------------------
INVENTORY_PRODUCER: Final = "inventory"
LOGISTICS_PRODUCER: Final = "logistics"

# Channels an order comes through ("web", "marketplace:<name>", "store:<name>"), and how it leaves.
CHANNEL_WEB: Final = "web"
CHANNEL_PATTERN: Final = rf"^({CHANNEL_WEB}|(marketplace|store):[a-z][a-z0-9_]*)$"
FULFILMENT_SHIPPED: Final = "shipped"
FULFILMENT_HANDED_OVER: Final = "handed-over"  # sold and handed over in a physical store: nothing ships
# A channel order's payment: collected by the marketplace or the store, never charged by us.
PAYMENT_METHOD_PREPAID: Final = "prepaid"

# Subscribers: environment variables the registry sets.
ENV_SUBSCRIBER_TABLE: Final = "SUBSCRIBER_TABLE_NAME"
ENV_NOTIFICATION_SENDER: Final = "NOTIFICATION_SENDER_EMAIL"
ENV_MARKER_TTL_DAYS: Final = "MARKER_TTL_DAYS"
ENV_AUDIT_CHECKPOINT_BUCKET: Final = "AUDIT_CHECKPOINT_BUCKET_NAME"
# Where the audit writer puts its checkpoints in that bucket (the only keys its role may write).
AUDIT_CHECKPOINT_PREFIX: Final = "checkpoints/"
# The sources a subscriber's rule admits (its pattern's "source", JSON), and the other accounts whose
# marketplace events it accepts (JSON list): the shared entry point refuses anything else (docs/SECURITY.md).
ENV_EXPECTED_SOURCES: Final = "EXPECTED_EVENT_SOURCES"
ENV_PARTNER_ACCOUNTS: Final = "PARTNER_ACCOUNTS"
# An event a subscriber refused (dimensions: subscriber, reason): forged or misrouted, never processed.
METRIC_EVENTS_REFUSED: Final = "EventsRefused"
# Subscriber tables: (pk, sk), plus the TTL attribute of idempotency markers.
SUBSCRIBER_TABLE_KEYS: Final = ("pk", "sk")
MARKER_TTL_ATTRIBUTE: Final = "expiresAt"

# Delivery to a subscriber: EventBridge retries a failed invoke (throttling, service errors; how often:
# infra/defaults.py), Lambda retries a failed function run; after either gives up the event lands in the DLQ.
SUBSCRIBER_MAX_EVENT_AGE_SECONDS: Final = 6 * 3600
SUBSCRIBER_ASYNC_RETRY_ATTEMPTS: Final = 2

# Inventory forecast: velocity over a trailing window; suggest a reorder when the stock left
# covers fewer days than the supplier needs, sized to cover lead time plus the target cover.
SALES_VELOCITY_WINDOW_DAYS: Final = 28
REORDER_TARGET_COVER_DAYS: Final = 30
DEFAULT_LEAD_TIME_DAYS: Final = 14

# Audit: an appender that loses the race for the chain head waits (full jitter, doubling from the base to the
# cap: at most ~4 s over all attempts, within the function's timeout) and re-reads it.
AUDIT_APPEND_ATTEMPTS: Final = 10
AUDIT_BACKOFF_BASE_SECONDS: Final = 0.02
AUDIT_BACKOFF_MAX_SECONDS: Final = 1.0
# Fields that name or locate a person, at any depth of an event's detail: audit stores them redacted (the
# chain proves what happened, not to whom). Every field of every event schema is either here or declared
# impersonal in tests/unit/subscribers/test_audit_redaction.py, so a new field must be classified.
PERSONAL_DATA_KEYS: Final = (
    "email",
    "phone",
    "name",  # an address's recipient
    "line1",
    "line2",
    "city",
    "postalCode",
    "reviewer",
    "reviewedBy",
    "note",
    "notes",
)

# Notifications: a send that crashed midway (SES may have taken it) is claimed for this long, longer than the
# buffer queue's retries (visibility 360 s x 10 receives, infra/subscribers.py; tests/infra/test_bus.py checks):
# those retries must fail into the dead-letter queue rather than send the e-mail again, and an operator decides
# (docs/OPERATIONS.md, StuckExpiredSendClaims). At 300 s a retry 360 s later re-sent it, once per receive.
NOTIFICATION_LEASE_SECONDS: Final = 3_900
# An e-mail SES refused for good (recipient, address): recorded NOT_SENT and counted under this metric
# (dimensions service and subscriber=notifications); its alarm is in infra/alarms.py.
METRIC_EMAILS_NOT_SENT: Final = "EmailsNotSent"
# A buffered subscriber (infra/subscribers.py QueueBuffer): how many copies read its queue at most.
ENV_BUFFER_MAX_CONCURRENCY: Final = "BUFFER_MAX_CONCURRENCY"

# DynamoDB key schemas (partition key, sort key or None), shared by the stack and test fixtures.
INVENTORY_TABLE_KEYS: Final = ("pk", "sk")
PAYMENTS_TABLE_KEYS: Final = ("orderId", None)
LEDGER_TABLE_KEYS: Final = ("pk", "sk")
GATEWAY_LEDGER_TABLE_KEYS: Final = ("idempotencyKey", "operation")

# ---------------------------------------------------------------------------
# Stack outputs: infra/stack.py writes them; orderctl and the sandbox find resources through them
# (here, not in infra/, so that readers need not import aws-cdk-lib).
# ---------------------------------------------------------------------------
OUTPUT_STATE_MACHINE_ARN: Final = "StateMachineArn"
OUTPUT_EVENT_BUS_NAME: Final = "EventBusName"
OUTPUT_EVENT_BUS_ARN: Final = "EventBusArn"
OUTPUT_INVENTORY_TABLE: Final = "InventoryTableName"
OUTPUT_PAYMENTS_TABLE: Final = "PaymentsTableName"
OUTPUT_LEDGER_TABLE: Final = "LedgerTableName"
OUTPUT_GATEWAY_LEDGER_TABLE: Final = "GatewayLedgerTableName"
OUTPUT_REVIEW_FUNCTION: Final = "ReviewDecisionFunctionName"
OUTPUT_EVENT_ARCHIVE_ARN: Final = "EventArchiveArn"
OUTPUT_BACK_OFFICE_URL: Final = "BackOfficeUrl"
OUTPUT_USER_POOL_ID: Final = "BackOfficeUserPoolId"
OUTPUT_USER_POOL_CLIENT_ID: Final = "BackOfficeUserPoolClientId"
# Per subscriber: "<CamelName>Subscriber" + one of these suffixes ("AnalyticsSubscriberTableName").
OUTPUT_SUBSCRIBER_INFIX: Final = "Subscriber"
OUTPUT_SUBSCRIBER_DEAD_LETTER_QUEUE: Final = "DeadLetterQueueUrl"
OUTPUT_SUBSCRIBER_TABLE: Final = "TableName"
OUTPUT_SUBSCRIBER_FUNCTION: Final = "FunctionName"
OUTPUT_SUBSCRIBER_RULE_ARN: Final = "RuleArn"
# The audit trail's write-once checkpoints (infra/audit.py): where verification finds the anchored head.
OUTPUT_AUDIT_CHECKPOINT_BUCKET: Final = "AuditCheckpointBucketName"

# ---------------------------------------------------------------------------
# Observability (infra/observability.py, lambdas/review_monitor, orderctl)
# ---------------------------------------------------------------------------
# Powertools business metrics (dimension service=SERVICE_NAME), in the stage's namespace: the stack sets it in
# every function's environment (POWERTOOLS_METRICS_NAMESPACE, infra/names.py metrics_namespace).
METRIC_ORDERS_COMPLETED: Final = "OrdersCompleted"
METRIC_REVENUE_CENTS: Final = "RevenueCents"
METRIC_REVIEWS_REQUESTED: Final = "ReviewsRequested"
METRIC_REVIEWS_WAITING: Final = "ReviewsWaiting"
METRIC_OLDEST_REVIEW_WAIT: Final = "OldestReviewWaitSeconds"
# The environment the review monitor (and the sweeper, the review decision) reads.
ENV_STATE_MACHINE_ARN: Final = "STATE_MACHINE_ARN"
# The decision function: the IAM principals (role or user ARNs, a JSON list) whose signed identity may decide.
ENV_REVIEWER_PRINCIPALS: Final = "REVIEWER_PRINCIPALS"
