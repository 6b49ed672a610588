"""OrderFailed -> one count per day x error, once per order (redeliveries and replays add nothing)."""

from __future__ import annotations

from typing import Any

from lambdas.shared.adapters.aws_clients import table
from lambdas.shared.events import marker_expiry, occurred_on
from lambdas.shared.observability import logger
from lambdas.shared.settings import cold_start
from lambdas.subscribers import count_delivery, subscriber
from lambdas.subscribers.failure_stats import store
from lambdas.subscribers.failure_stats.logic import failure_counter
from lambdas.subscribers.settings import SubscriberSettings

settings = cold_start(SubscriberSettings.from_env, __name__)


@subscriber("failure_stats")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    s = settings()
    detail = event["detail"]
    data = detail["data"]
    counter = failure_counter(data, occurred_on(detail))
    applied = store.count_failure(
        table(s.table_name), data["orderId"], counter, marker_expiry(detail, s.marker_ttl_days)
    )
    count_delivery("failure_stats", applied)
    logger.info("failure counted" if applied else "already counted", extra={"error": counter[1]})
    return {"orderId": data["orderId"], "counted": applied}
