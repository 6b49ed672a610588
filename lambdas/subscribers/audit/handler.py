"""Every event from our sources -> one record in the hash-chained audit trail (once per event)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lambdas.shared.adapters.aws_clients import table
from lambdas.shared.observability import logger
from lambdas.shared.settings import SubscriberSettings, cold_start
from lambdas.subscribers import count_delivery, subscriber
from lambdas.subscribers.audit.logic import append_event
from lambdas.subscribers.audit.store import AuditTable

settings = cold_start(SubscriberSettings.from_env, __name__)


@subscriber("audit")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    record = append_event(AuditTable(table(settings().table_name)), event, now)
    count_delivery("audit", record is not None)
    if record is None:
        logger.info("already in the audit trail (redelivery or replay)")
        return {"appended": False}
    logger.info("appended to the audit trail", extra={"seq": record["seq"], "eventKey": record["eventKey"]})
    return {"appended": True, "seq": record["seq"]}
