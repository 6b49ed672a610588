"""Audit: every event appended once, a hash chain that cannot fork, anchored by write-once checkpoints, and
verification finds tampering (including a consistent rewrite of the table by someone who may write it)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import boto3
import pytest

from infra.config import LAMBDA_TIMEOUT_SECONDS
from lambdas.shared import constants
from lambdas.subscribers.audit import handler as audit_handler
from lambdas.subscribers.audit.logic import (
    GENESIS,
    REDACTED,
    Head,
    Verification,
    append_backoff,
    append_event,
    record_hash,
)
from lambdas.subscribers.audit.store import (
    HEAD_KEY,
    AuditTable,
    CheckpointBucket,
    checkpoint_key,
    record_key,
    verify_stored,
)
from tests.contract import samples
from tests.unit.subscribers.conftest import deliver, deliver_async, fail_once

BUCKET = "test-audit-checkpoints"


@pytest.fixture(autouse=True)
def checkpoint_bucket(subscriber_table: Any, monkeypatch: pytest.MonkeyPatch) -> CheckpointBucket:
    """The object-locked bucket the stack makes (infra/audit.py), named in the environment."""
    s3 = boto3.client("s3")
    s3.create_bucket(
        Bucket=BUCKET,
        CreateBucketConfiguration={"LocationConstraint": s3.meta.region_name},
        ObjectLockEnabledForBucket=True,
    )
    monkeypatch.setenv(constants.ENV_AUDIT_CHECKPOINT_BUCKET, BUCKET)
    return CheckpointBucket(s3, BUCKET)


def chain(table: Any) -> list[dict[str, Any]]:
    return list(AuditTable(table).records())


def verify_table(table: Any) -> Verification:
    return verify_stored(boto3.resource("dynamodb").Table(table.name), boto3.client("s3"), BUCKET)


def writable(table: Any) -> Any:
    """The table as anyone who may write it (not the audit function's role) sees it."""
    return boto3.resource("dynamodb").Table(table.name)


def set_head(table: Any, seq: int, hash_: str) -> None:
    writable(table).put_item(Item={**HEAD_KEY, "seq": seq, "hash": hash_})


def fill(count: int = 4) -> list[dict[str, Any]]:
    events = [samples.order_completed(f"o-{i}") for i in range(count - 2)]
    events += [samples.order_failed(), samples.reorder_suggested()]
    for event in events:
        assert deliver(audit_handler.handler, event)["appended"] is True
    return events


def test_events_are_chained_in_order(subscriber_table: Any) -> None:
    fill(4)
    records = chain(subscriber_table)
    assert [int(r["seq"]) for r in records] == [1, 2, 3, 4]
    assert records[0]["prevHash"] == GENESIS
    assert all(later["prevHash"] == earlier["hash"] for earlier, later in itertools.pairwise(records))
    assert [r["detailType"] for r in records][-2:] == ["OrderFailed", "ReorderSuggested"]
    assert verify_table(subscriber_table).ok


def test_redelivery_and_replay_append_nothing(subscriber_table: Any) -> None:
    event = samples.order_completed("o-1")
    deliver(audit_handler.handler, event)
    assert deliver(audit_handler.handler, event) == {"appended": False}
    replayed = {**event, "id": "another-id", "replay-name": "backfill"}
    assert deliver(audit_handler.handler, replayed) == {"appended": False}
    assert len(chain(subscriber_table)) == 1


def test_personal_data_is_stored_redacted(subscriber_table: Any) -> None:
    deliver(audit_handler.handler, samples.order_completed("o-1", email="ada@example.com"))
    (record,) = chain(subscriber_table)
    assert "ada@example.com" not in json.dumps(record, default=str)
    assert json.loads(record["detail"])["data"]["customer"] == {"id": "cust-42", "email": REDACTED}


def test_verify_names_an_edited_record(subscriber_table: Any) -> None:
    fill(4)
    record = chain(subscriber_table)[1]
    edited = json.loads(record["detail"])
    edited["data"]["totalCents"] = 1
    boto3.resource("dynamodb").Table(subscriber_table.name).update_item(
        Key=record_key(2), UpdateExpression="SET detail = :d", ExpressionAttributeValues={":d": json.dumps(edited)}
    )
    result = verify_table(subscriber_table)
    assert (result.ok, result.first_broken_seq, result.checked) == (False, 2, 1)
    assert "edited" in (result.problem or "")


def test_verify_catches_an_edit_whose_hash_was_recomputed(subscriber_table: Any) -> None:
    fill(4)
    record = chain(subscriber_table)[1]
    forged = {**record, "detailType": "Nothing", "hash": ""}
    forged["hash"] = record_hash(forged)
    boto3.resource("dynamodb").Table(subscriber_table.name).put_item(Item=forged)
    result = verify_table(subscriber_table)
    assert (result.ok, result.first_broken_seq) == (False, 3)  # the next record no longer links to it
    assert "prevHash" in (result.problem or "")


def test_verify_names_a_deleted_record(subscriber_table: Any) -> None:
    fill(4)
    boto3.resource("dynamodb").Table(subscriber_table.name).delete_item(Key=record_key(3))
    result = verify_table(subscriber_table)
    assert (result.ok, result.first_broken_seq) == (False, 3)
    assert "missing" in (result.problem or "")


def test_verify_notices_a_deleted_tail(subscriber_table: Any) -> None:
    fill(4)
    boto3.resource("dynamodb").Table(subscriber_table.name).delete_item(Key=record_key(4))
    result = verify_table(subscriber_table)
    assert (result.ok, result.first_broken_seq) == (False, 4)


def test_every_append_is_anchored_by_a_checkpoint(subscriber_table: Any, checkpoint_bucket: CheckpointBucket) -> None:
    fill(4)
    last = chain(subscriber_table)[-1]
    assert sorted(checkpoint_bucket.checkpoints(), key=lambda c: c.seq)[-1] == Head(4, last["hash"])
    result = verify_table(subscriber_table)
    assert (result.ok, result.checked, result.anchored_seq) == (True, 4, 4)


def test_tampering_a_deleted_last_record_with_the_head_rolled_back_is_detected(subscriber_table: Any) -> None:
    fill(4)
    third = chain(subscriber_table)[2]
    writable(subscriber_table).delete_item(Key=record_key(4))
    set_head(subscriber_table, 3, third["hash"])  # a consistent table of 3 records...
    result = verify_table(subscriber_table)
    assert (result.ok, result.first_broken_seq, result.checked) == (False, 4, 3)  # ...but checkpoint 4 exists
    assert result.problem == "checkpoint 4 is past the last record 3 (records deleted)"


def test_tampering_the_head_rolled_back_alone_is_detected(subscriber_table: Any) -> None:
    fill(4)
    third = chain(subscriber_table)[2]
    set_head(subscriber_table, 3, third["hash"])
    result = verify_table(subscriber_table)
    assert (result.ok, result.first_broken_seq) == (False, 4)
    assert result.problem == "records 4..4 are past the head (appended around it)"


def test_tampering_an_edit_with_every_later_hash_recomputed_is_detected(subscriber_table: Any) -> None:
    fill(4)
    records = chain(subscriber_table)
    prev_hash = records[0]["hash"]
    for record in records[1:]:  # edit record 2, then re-link and re-hash 2..4 and move the head
        forged = {**record, "prevHash": prev_hash}
        if forged["seq"] == 2:
            detail = json.loads(forged["detail"])
            detail["data"]["totalCents"] = 1
            forged["detail"] = json.dumps(detail)
        forged["hash"] = prev_hash = record_hash(forged)
        writable(subscriber_table).put_item(Item=forged)
    set_head(subscriber_table, 4, prev_hash)
    result = verify_table(subscriber_table)
    assert (result.ok, result.first_broken_seq, result.checked) == (False, 2, 4)
    assert result.problem == "record 2 differs from its checkpoint (rewritten)"


def test_a_rewrite_stays_detected_while_the_writer_appends_on_top_of_it(subscriber_table: Any) -> None:
    test_tampering_an_edit_with_every_later_hash_recomputed_is_detected(subscriber_table)
    deliver(audit_handler.handler, samples.order_completed("after-the-rewrite"))  # anchors the forged chain's 5
    result = verify_table(subscriber_table)
    assert (result.ok, result.first_broken_seq, result.anchored_seq) == (False, 2, 5)


def test_a_wiped_trail_is_detected(subscriber_table: Any) -> None:
    fill(2)
    for seq in (1, 2):
        writable(subscriber_table).delete_item(Key=record_key(seq))
    writable(subscriber_table).delete_item(Key=HEAD_KEY)
    result = verify_table(subscriber_table)
    assert (result.ok, result.problem) == (False, "checkpoint 2 is past the last record 0 (records deleted)")


def test_a_chain_without_a_checkpoint_does_not_verify(subscriber_table: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CheckpointBucket, "anchor", lambda self, head: True)  # a writer that skips anchoring
    fill(2)
    result = verify_table(subscriber_table)
    assert (result.ok, result.problem) == (False, "no checkpoint anchors the chain")


def test_checkpoints_are_written_once(checkpoint_bucket: CheckpointBucket) -> None:
    assert checkpoint_bucket.anchor(Head(1, "a" * 64)) is True
    assert checkpoint_bucket.anchor(Head(1, "a" * 64)) is False  # a retry: already there, not replaced
    assert list(checkpoint_bucket.checkpoints()) == [Head(1, "a" * 64)]
    s3 = boto3.client("s3")
    assert s3.get_object(Bucket=BUCKET, Key=checkpoint_key(Head(1, "a" * 64)))["Body"].read() == b"a" * 64


def test_a_second_checkpoint_for_one_record_is_detected(
    subscriber_table: Any, checkpoint_bucket: CheckpointBucket
) -> None:
    fill(2)
    checkpoint_bucket.anchor(Head(2, "f" * 64))  # the writer's role, misused
    result = verify_table(subscriber_table)
    assert (result.ok, result.first_broken_seq) == (False, 2)


def test_a_retry_after_a_lost_checkpoint_anchors_the_head(
    subscriber_table: Any, checkpoint_bucket: CheckpointBucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_once(monkeypatch, CheckpointBucket, "anchor")  # the run dies after its append, before its checkpoint
    outcome = deliver_async(audit_handler.handler, samples.order_completed("o-1"))
    assert outcome.error_names == ["Crash"] and outcome.result == {"appended": False}
    assert list(checkpoint_bucket.checkpoints()) == [Head(1, chain(subscriber_table)[0]["hash"])]
    assert verify_table(subscriber_table).ok


def test_records_carry_the_orders_channel(subscriber_table: Any) -> None:
    # The audit rule hears the shop's own source (the entry point refuses others): a channel order's channel
    # reaches the trail on the workflow's events.
    store_order = samples.order_completed("city_store-T1")
    store_order["detail"]["data"]["channel"] = "store:city_store"
    market_order = samples.order_completed("ebuy-M1")
    market_order["detail"]["data"]["channel"] = "marketplace:ebuy"
    for event in (samples.order_completed("o-1"), store_order, market_order):
        deliver(audit_handler.handler, event)
    deliver(audit_handler.handler, samples.reorder_suggested())
    assert [r["channel"] for r in chain(subscriber_table)] == ["web", "store:city_store", "marketplace:ebuy", ""]
    assert verify_table(subscriber_table).ok


def test_an_empty_trail_verifies(subscriber_table: Any) -> None:
    assert verify_table(subscriber_table).ok


class RacingStore(AuditTable):
    """Another appender wins the race between our read of the head and our write."""

    def __init__(self, dynamo_table: Any, rival_event: dict[str, Any]) -> None:
        super().__init__(dynamo_table)
        self.checkpoints = CheckpointBucket(boto3.client("s3"), BUCKET)
        self.rival_event: dict[str, Any] | None = rival_event
        self.conflicts = 0

    def head(self) -> Head | None:
        stale = super().head()
        if self.rival_event is not None:
            rival, self.rival_event = self.rival_event, None
            append_event(AuditTable(self._table), self.checkpoints, rival, "2026-11-20T10:00:00+00:00")
        return stale

    def append(self, record: dict[str, Any], expected_head: Head) -> str:
        outcome = super().append(record, expected_head)
        self.conflicts += outcome == "conflict"
        return outcome


def test_concurrent_appends_do_not_fork_the_chain(subscriber_table: Any) -> None:
    deliver(audit_handler.handler, samples.order_completed("o-0"))
    store = RacingStore(subscriber_table, rival_event=samples.order_completed("rival"))
    mine = append_event(store, store.checkpoints, samples.order_completed("mine"), "2026-11-20T10:00:01+00:00")

    assert store.conflicts == 1  # the stale head was refused...
    assert mine is not None and mine["seq"] == 3  # ...and the retry built on the rival's record
    records = chain(subscriber_table)
    assert [json.loads(r["detail"])["data"]["orderId"] for r in records] == ["o-0", "rival", "mine"]
    assert verify_table(subscriber_table).ok


def test_a_duplicate_that_races_its_original_appends_once(subscriber_table: Any) -> None:
    event = samples.order_completed("o-1")
    store = RacingStore(subscriber_table, rival_event=event)  # the same event, delivered twice at once
    assert append_event(store, store.checkpoints, event, "2026-11-20T10:00:01+00:00") is None
    assert len(chain(subscriber_table)) == 1


def test_a_run_that_fails_after_its_append_is_retried_without_appending_again(
    subscriber_table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_once(monkeypatch, audit_handler, "count_delivery")  # after the record + marker + head transaction
    outcome = deliver_async(audit_handler.handler, samples.order_completed("o-1"))
    assert outcome.error_names == ["Crash"] and outcome.result == {"appended": False}
    assert len(chain(subscriber_table)) == 1
    assert verify_table(subscriber_table).ok


def test_an_appender_that_loses_the_race_backs_off_before_it_reads_the_head_again(subscriber_table: Any) -> None:
    deliver(audit_handler.handler, samples.order_completed("o-0"))
    store = RacingStore(subscriber_table, rival_event=samples.order_completed("rival"))
    pauses: list[float] = []
    mine = append_event(
        store, store.checkpoints, samples.order_completed("mine"), "2026-11-20T10:00:01+00:00", pause=pauses.append
    )
    assert mine is not None and store.conflicts == 1
    assert len(pauses) == 1 and 0 <= pauses[0] <= constants.AUDIT_BACKOFF_BASE_SECONDS


def test_append_back_off_is_full_jitter_under_a_doubling_cap_and_fits_the_functions_time() -> None:
    caps = [append_backoff(attempt, draw=lambda: 1.0) for attempt in range(1, constants.AUDIT_APPEND_ATTEMPTS)]
    assert caps[:3] == [0.02, 0.04, 0.08] and max(caps) == constants.AUDIT_BACKOFF_MAX_SECONDS
    assert append_backoff(5, draw=lambda: 0.0) == 0.0
    assert sum(caps) < LAMBDA_TIMEOUT_SECONDS / 2  # the audit function's timeout (infra/subscribers.py)
