"""Audit: every event appended once, a hash chain that cannot fork, and verify() finds tampering."""

from __future__ import annotations

import itertools
import json
from typing import Any

import boto3
import pytest

from lambdas.subscribers.audit import handler as audit_handler
from lambdas.subscribers.audit.logic import (
    GENESIS,
    REDACTED,
    Head,
    Verification,
    append_event,
    record_hash,
    verify_trail,
)
from lambdas.subscribers.audit.store import AuditTable, record_key
from tests.contract import samples
from tests.unit.subscribers.conftest import deliver, deliver_async, fail_once


def chain(table: Any) -> list[dict[str, Any]]:
    return list(AuditTable(table).records())


def verify_table(table: Any) -> Verification:
    return verify_trail(AuditTable(table))


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


def test_an_empty_trail_verifies(subscriber_table: Any) -> None:
    assert verify_table(subscriber_table).ok


class RacingStore(AuditTable):
    """Another appender wins the race between our read of the head and our write."""

    def __init__(self, dynamo_table: Any, rival_event: dict[str, Any]) -> None:
        super().__init__(dynamo_table)
        self.rival_event: dict[str, Any] | None = rival_event
        self.conflicts = 0

    def head(self) -> Head | None:
        stale = super().head()
        if self.rival_event is not None:
            rival, self.rival_event = self.rival_event, None
            append_event(AuditTable(self._table), rival, "2026-11-20T10:00:00+00:00")
        return stale

    def append(self, record: dict[str, Any], expected_head: Head) -> str:
        outcome = super().append(record, expected_head)
        self.conflicts += outcome == "conflict"
        return outcome


def test_concurrent_appends_do_not_fork_the_chain(subscriber_table: Any) -> None:
    deliver(audit_handler.handler, samples.order_completed("o-0"))
    store = RacingStore(subscriber_table, rival_event=samples.order_completed("rival"))
    mine = append_event(store, samples.order_completed("mine"), "2026-11-20T10:00:01+00:00")

    assert store.conflicts == 1  # the stale head was refused...
    assert mine is not None and mine["seq"] == 3  # ...and the retry built on the rival's record
    records = chain(subscriber_table)
    assert [json.loads(r["detail"])["data"]["orderId"] for r in records] == ["o-0", "rival", "mine"]
    assert verify_table(subscriber_table).ok


def test_a_duplicate_that_races_its_original_appends_once(subscriber_table: Any) -> None:
    event = samples.order_completed("o-1")
    store = RacingStore(subscriber_table, rival_event=event)  # the same event, delivered twice at once
    assert append_event(store, event, "2026-11-20T10:00:01+00:00") is None
    assert len(chain(subscriber_table)) == 1


def test_a_run_that_fails_after_its_append_is_retried_without_appending_again(
    subscriber_table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_once(monkeypatch, audit_handler, "count_delivery")  # after the record + marker + head transaction
    outcome = deliver_async(audit_handler.handler, samples.order_completed("o-1"))
    assert outcome.error_names == ["Crash"] and outcome.result == {"appended": False}
    assert len(chain(subscriber_table)) == 1
    assert verify_table(subscriber_table).ok
