"""OrderCompleted -> sales counters per day x SKU x site variant and per channel (once per order)."""

from __future__ import annotations

from typing import Any

from lambdas.shared.adapters.aws_clients import table
from lambdas.shared.events import marker_expiry, occurred_on
from lambdas.shared.observability import logger
from lambdas.shared.settings import cold_start
from lambdas.subscribers import count_delivery, subscriber
from lambdas.subscribers.analytics import store
from lambdas.subscribers.analytics.logic import order_counters
from lambdas.subscribers.settings import SubscriberSettings

settings = cold_start(SubscriberSettings.from_env, __name__)


@subscriber("analytics")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    s = settings()
    detail = event["detail"]
    data = detail["data"]
    counted = store.record_order(
        table(s.table_name),
        data["orderId"],
        order_counters(data, occurred_on(detail)),
        data["currency"],
        marker_expiry(detail, s.marker_ttl_days),
    )
    count_delivery("analytics", counted)
    logger.info("sales counted" if counted else "already counted (redelivery)", extra={"counted": counted})
    return {"orderId": data["orderId"], "counted": counted}
