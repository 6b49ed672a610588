"""Every event from our sources -> one record in the hash-chained audit trail (once per event), anchored by
a write-once checkpoint."""

from __future__ import annotations

from typing import Any

from lambdas.shared import constants
from lambdas.shared.adapters.aws_clients import client, table
from lambdas.shared.clock import utc_now
from lambdas.shared.observability import logger
from lambdas.shared.settings import cold_start, text
from lambdas.subscribers import count_delivery, subscriber
from lambdas.subscribers.audit.logic import append_event
from lambdas.subscribers.audit.store import AuditTable, CheckpointBucket
from lambdas.subscribers.settings import SubscriberSettings


def _settings() -> tuple[SubscriberSettings, str]:
    """Every subscriber's settings, and the bucket its checkpoints go to."""
    return SubscriberSettings.from_env(), text(constants.ENV_AUDIT_CHECKPOINT_BUCKET)


settings = cold_start(_settings, __name__)


@subscriber("audit")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    now = utc_now().isoformat(timespec="milliseconds")
    common, bucket = settings()
    record = append_event(AuditTable(table(common.table_name)), CheckpointBucket(client("s3"), bucket), event, now)
    count_delivery("audit", record is not None)
    if record is None:
        logger.info("already in the audit trail (redelivery or replay)")
        return {"appended": False}
    logger.info("appended to the audit trail", extra={"seq": record["seq"], "eventKey": record["eventKey"]})
    return {"appended": True, "seq": record["seq"]}
