"""What the subscribers did, read back from the sandbox the way an operator would read AWS.

Tables are found through the stack's outputs; e-mails through SES (the sandbox's record of sent
mail); dead letters through SQS. The demo prints these, the end-to-end tests assert on them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from lambdas.shared.adapters.dynamo import all_items
from lambdas.shared.adapters.inventory import stock_totals

if TYPE_CHECKING:
    from lambdas.subscribers.analytics.logic import VariantStats
    from lambdas.subscribers.audit.logic import Verification


@dataclass(frozen=True)
class StockLevel:
    sku: str
    warehouse: str
    available: int
    held: int
    sold: int


@dataclass(frozen=True)
class Email:
    source: str
    to: list[str]
    subject: str
    body: str


def stock_levels(sandbox: Any) -> list[StockLevel]:
    """Every SKU-warehouse's stock, its shards summed (the stock feature's ``stock_totals``)."""
    table = sandbox.resource("dynamodb").Table(sandbox.outputs["InventoryTableName"])
    levels = [
        StockLevel(sku=sku, warehouse=warehouse, **level)
        for (sku, warehouse), level in stock_totals(all_items(table.scan)).items()
    ]
    return sorted(levels, key=lambda level: (level.sku, level.warehouse))


def holds(sandbox: Any, order_id: str) -> dict[str, dict[str, Any]]:
    """The order's stock holds by SKU (ORDER#<id> / HOLD#<sku>): warehouseId, quantity, status."""
    table = sandbox.resource("dynamodb").Table(sandbox.outputs["InventoryTableName"])
    items = table.query(KeyConditionExpression=Key("pk").eq(f"ORDER#{order_id}"))["Items"]
    return {i["sk"].removeprefix("HOLD#"): i for i in items if i["sk"].startswith("HOLD#")}


def payment(sandbox: Any, order_id: str) -> dict[str, Any] | None:
    table = sandbox.resource("dynamodb").Table(sandbox.outputs["PaymentsTableName"])
    return table.get_item(Key={"orderId": order_id}).get("Item")


def ledger(sandbox: Any, order_id: str) -> dict[str, dict[str, Any]]:
    """The order's ledger transactions by sort key (TXN#SALE, TXN#REFUND)."""
    table = sandbox.resource("dynamodb").Table(sandbox.outputs["LedgerTableName"])
    items = table.query(KeyConditionExpression=Key("pk").eq(f"ORDER#{order_id}"))["Items"]
    return {item["sk"]: item for item in items}


def emails(sandbox: Any) -> list[Email]:
    """Every e-mail SES accepted in the sandbox (moto keeps them instead of sending)."""
    from moto.ses.models import ses_backends

    from sandbox.account import ACCOUNT_ID

    sent = ses_backends[ACCOUNT_ID][sandbox.region].sent_messages
    return [
        Email(m.source, list(m.destinations.get("ToAddresses", [])), m.subject, m.body)
        for m in sent
        if hasattr(m, "subject")
    ]


def dead_letters(sandbox: Any) -> dict[str, int]:
    """Messages waiting in each subscriber's dead-letter queue (stack outputs *DeadLetterQueueUrl)."""
    sqs = sandbox.client("sqs")
    counts = {}
    for key, url in sandbox.outputs.items():
        if key.endswith("SubscriberDeadLetterQueueUrl"):
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            counts[key.removesuffix("SubscriberDeadLetterQueueUrl")] = int(
                attributes["Attributes"]["ApproximateNumberOfMessages"]
            )
    return counts


def subscriber_table(sandbox: Any, subscriber: str) -> str:
    """A subscriber's own table (output <Name>SubscriberTableName), e.g. subscriber_table(s, "Audit")."""
    return sandbox.outputs[f"{subscriber}SubscriberTableName"]


def audit_verification(sandbox: Any) -> Verification:
    """The audit trail's one check (lambdas.subscribers.audit.store.verify_stored), on the sandbox's table and
    checkpoint bucket."""
    from lambdas.shared import constants
    from lambdas.subscribers.audit.store import verify_stored

    return verify_stored(
        sandbox.resource("dynamodb").Table(subscriber_table(sandbox, "Audit")),
        sandbox.client("s3"),
        sandbox.outputs[constants.OUTPUT_AUDIT_CHECKPOINT_BUCKET],
    )


def analytics_by_variant(sandbox: Any, day: date | None = None) -> list[VariantStats]:
    """Sales by site variant for one day (default: today, UTC, on the sandbox's clock, which the functions stamp
    their records with), read as `orderctl sales` reads them."""
    from lambdas.subscribers.analytics import store as analytics

    day = day or datetime.fromtimestamp(sandbox.clock.now(), UTC).date()
    dynamo_table = sandbox.resource("dynamodb").Table(subscriber_table(sandbox, "Analytics"))
    return analytics.sales_report(dynamo_table, day, day).variants


def deliveries_by_subscriber(sandbox: Any) -> dict[str, Counter[str]]:
    """Per subscriber function: how many deliveries ended in each outcome."""
    names = {arn_name: name for name, arn_name in _function_names(sandbox).items()}
    result: dict[str, Counter[str]] = {}
    for delivery in sandbox.targets.deliveries:
        function = delivery.function.rsplit(":", 1)[-1]
        result.setdefault(names.get(function, function), Counter())[delivery.outcome] += 1
    return result


def events_seen(sandbox: Any, subscriber: str = "audit") -> Counter[str]:
    """Detail types one subscriber received (audit listens to everything we publish)."""
    function = _function_names(sandbox)[subscriber]
    return Counter(d.detail_type for d in sandbox.targets.deliveries if d.function.endswith(f":{function}"))


def _function_names(sandbox: Any) -> dict[str, str]:
    """Subscriber name (lambdas/subscribers/<name>) -> deployed function name."""
    prefix = "lambdas.subscribers."
    return {
        props["Handler"].removeprefix(prefix).split(".")[0]: name
        for name, props in sandbox.deployment.functions().items()
        if props.get("Handler", "").startswith(prefix)
    }
