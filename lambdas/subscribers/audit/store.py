"""The audit subscriber's table (the hash chain's records, its head, one marker per recorded event) and its
checkpoint bucket (the anchored heads).

Items (pk / sk): ``CHAIN`` / ``HEAD`` {seq, hash}; ``CHAIN`` / ``SEQ#<000000000042>`` the records;
``EVENT#<eventKey>`` / ``EVENT`` {seq}: the event is in the chain. An append writes all three in one
transaction, each Put conditioned: the record and the marker must not exist (``attribute_not_exists``),
the head must be unchanged, so concurrent appenders cannot fork the chain and nothing is overwritten.
The subscriber's role may GetItem and PutItem only (infra/audit.py says what IAM cannot enforce).

Checkpoints: one object per appended record, ``checkpoints/<000000000042>/<hash>`` (the key says it all:
verification lists them, 1,000 per request, and reads no object), written with ``If-None-Match: *`` into a
bucket under S3 Object Lock (compliance mode): never overwritten, never deleted within the retention.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from botocore.exceptions import ClientError

from lambdas.shared import constants
from lambdas.shared.adapters.dynamo import condition_failed, query_all, transact
from lambdas.subscribers.audit.logic import Head, Verification, verify_trail

_PK, _SK = constants.SUBSCRIBER_TABLE_KEYS

CHAIN: Final = "CHAIN"
HEAD_KEY: Final = {_PK: CHAIN, _SK: "HEAD"}
_ABSENT: Final = f"attribute_not_exists({_PK})"


def record_key(seq: int) -> dict[str, str]:
    return {_PK: CHAIN, _SK: f"SEQ#{seq:012d}"}


def marker_key(event_key: str) -> dict[str, str]:
    return {_PK: f"EVENT#{event_key}", _SK: "EVENT"}


class AuditTable:
    """The AuditStore of lambdas.subscribers.audit.logic, on a DynamoDB ``Table`` resource (the function's,
    or a tool's own: orderctl, the sandbox)."""

    def __init__(self, dynamo_table: Any) -> None:
        self._table = dynamo_table

    @property
    def name(self) -> str:
        return str(self._table.name)

    def is_recorded(self, key: str) -> bool:
        return "Item" in self._table.get_item(Key=marker_key(key), ConsistentRead=True)

    def head(self) -> Head | None:
        item = self._table.get_item(Key=HEAD_KEY, ConsistentRead=True).get("Item")
        return Head(int(item["seq"]), item["hash"]) if item else None

    def append(self, record: dict[str, Any], expected_head: Head) -> str:
        new_head = {**HEAD_KEY, "seq": record["seq"], "hash": record["hash"]}
        if expected_head.seq == 0:
            head_put = {"Item": new_head, "ConditionExpression": _ABSENT}
        else:
            head_put = {
                "Item": new_head,
                "ConditionExpression": "seq = :seq AND #h = :hash",
                "ExpressionAttributeNames": {"#h": "hash"},
                "ExpressionAttributeValues": {":seq": expected_head.seq, ":hash": expected_head.hash},
            }
        items = [
            {"Put": {"Item": {**marker_key(record["eventKey"]), "seq": record["seq"]}, "ConditionExpression": _ABSENT}},
            {"Put": {"Item": {**record_key(record["seq"]), **record}, "ConditionExpression": _ABSENT}},
            {"Put": head_put},
        ]
        for item in items:
            item["Put"]["TableName"] = self.name
        reasons = transact(self._table, items)
        if reasons is None:
            return "appended"
        # The marker is item 0: its condition alone failing means "already recorded".
        return "duplicate" if condition_failed(reasons, 0) else "conflict"

    def records(self) -> Iterator[dict[str, Any]]:
        """The chain in seq order."""
        return query_all(self._table, CHAIN, "SEQ#")


CHECKPOINT_PREFIX: Final = constants.AUDIT_CHECKPOINT_PREFIX


def checkpoint_key(head: Head) -> str:
    return f"{CHECKPOINT_PREFIX}{head.seq:012d}/{head.hash}"


class CheckpointBucket:
    """The chain's anchors in the object-locked bucket (an S3 client: the function's, or a tool's own)."""

    def __init__(self, s3_client: Any, bucket: str) -> None:
        self._s3, self.bucket = s3_client, bucket

    def anchor(self, head: Head) -> bool:
        """Write the checkpoint of ``head`` once; False when it is already there (a retry, a redelivery)."""
        try:
            self._s3.put_object(
                Bucket=self.bucket,
                Key=checkpoint_key(head),
                Body=head.hash.encode(),
                ContentType="text/plain",
                IfNoneMatch="*",  # write-once; the bucket policy refuses a put without it
                ChecksumAlgorithm="SHA256",  # S3 requires a checksum for objects under a retention period
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
                return False
            raise
        return True

    def checkpoints(self) -> Iterator[Head]:
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=CHECKPOINT_PREFIX):
            for item in page.get("Contents", []):
                seq, _, hash_ = item["Key"].removeprefix(CHECKPOINT_PREFIX).partition("/")
                yield Head(int(seq), hash_)


def verify_stored(dynamo_table: Any, s3_client: Any, bucket: str) -> Verification:
    """The audit trail's check on the deployed table and bucket, with the caller's own clients (orderctl's
    operator credentials, the sandbox's)."""
    return verify_trail(AuditTable(dynamo_table), CheckpointBucket(s3_client, bucket))
