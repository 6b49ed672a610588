"""Every event from our sources -> one record in the hash-chained audit trail (once per event), anchored by
a write-once checkpoint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lambdas.shared import constants
from lambdas.shared.adapters.aws_clients import client, table
from lambdas.shared.observability import logger
from lambdas.shared.settings import cold_start, text
from lambdas.subscribers import count_delivery, subscriber
from lambdas.subscribers.audit.logic import append_event
from lambdas.subscribers.audit.store import AuditTable, CheckpointBucket


@dataclass(frozen=True)
class AuditSettings:
    table_name: str
    checkpoint_bucket: str

    @classmethod
    def from_env(cls) -> AuditSettings:
        return cls(text(constants.ENV_SUBSCRIBER_TABLE), text(constants.ENV_AUDIT_CHECKPOINT_BUCKET))


settings = cold_start(AuditSettings.from_env, __name__)


@subscriber("audit")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    checkpoints = CheckpointBucket(client("s3"), settings().checkpoint_bucket)
    record = append_event(AuditTable(table(settings().table_name)), checkpoints, event, now)
    count_delivery("audit", record is not None)
    if record is None:
        logger.info("already in the audit trail (redelivery or replay)")
        return {"appended": False}
    logger.info("appended to the audit trail", extra={"seq": record["seq"], "eventKey": record["eventKey"]})
    return {"appended": True, "seq": record["seq"]}
