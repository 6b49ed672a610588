"""OrderFailed -> one count per day x error, once per order (redeliveries and replays add nothing)."""

from __future__ import annotations

from typing import Any

from lambdas.shared.adapters.aws_clients import table
from lambdas.shared.adapters.dynamo import Increment, add_once
from lambdas.shared.events import marker_expiry, occurred_on
from lambdas.shared.observability import logger
from lambdas.shared.settings import SubscriberSettings, cold_start
from lambdas.subscribers import count_delivery, subscriber
from lambdas.subscribers.failure_stats.logic import failure_counter

settings = cold_start(SubscriberSettings.from_env, __name__)


@subscriber("failure_stats")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    s = settings()
    detail = event["detail"]
    data = detail["data"]
    pk, sk = failure_counter(data, occurred_on(detail))
    marker = {
        "pk": f"ORDER#{data['orderId']}",
        "sk": "FAILED",
        "expiresAt": marker_expiry(detail, s.marker_ttl_days),
    }
    applied = add_once(table(s.table_name), marker, [Increment({"pk": pk, "sk": sk}, {"orders": 1})])
    count_delivery("failure_stats", applied)
    logger.info("failure counted" if applied else "already counted", extra={"error": sk})
    return {"orderId": data["orderId"], "counted": applied}
