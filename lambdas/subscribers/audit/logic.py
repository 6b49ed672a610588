"""Audit trail: every event from our sources, append-only, chained by hashes so edits show.

Record ``n`` stores ``prevHash`` (record n-1's hash, or GENESIS) and
``hash = sha256(prevHash + canonical JSON of the record's other fields)``. Editing a record breaks
its own hash; deleting one leaves a gap in ``seq`` and a ``prevHash`` that matches nothing; cutting
the tail disagrees with the chain head. (Someone who can rewrite the whole table including the
head can forge a consistent chain: anchor the head hash elsewhere if that matters.)

A record's identity is the hash of the event's source, detail-type and detail (``event_key``),
not the EventBridge event id: a redelivery or an archive replay has a new id but the same key,
so it appends nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from lambdas.shared import constants

GENESIS = "0" * 64
REDACTED = "[redacted]"
# The fields a record's hash covers, in this order.
HASHED_FIELDS = ("seq", "eventKey", "prevHash", "source", "detailType", "eventId", "eventTime", "detail", "appendedAt")


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_key(source: str, detail_type: str, detail: Any) -> str:
    return hashlib.sha256(canonical([source, detail_type, detail]).encode()).hexdigest()


def redact(value: Any) -> Any:
    """A copy with personal data (constants.PERSONAL_DATA_KEYS, at any depth) replaced."""
    if isinstance(value, Mapping):
        return {k: REDACTED if k in constants.PERSONAL_DATA_KEYS else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def record_hash(record: Mapping[str, Any]) -> str:
    fields = [int(record["seq"]) if name == "seq" else record[name] for name in HASHED_FIELDS]
    return hashlib.sha256((record["prevHash"] + canonical(fields)).encode()).hexdigest()


def new_record(seq: int, prev_hash: str, event: Mapping[str, Any], key: str, appended_at: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "seq": seq,
        "eventKey": key,
        "prevHash": prev_hash,
        "source": event["source"],
        "detailType": event["detail-type"],
        "eventId": event.get("id", ""),  # the first delivery's id, for tracing only
        "eventTime": event.get("time", ""),
        # Stored as canonical JSON text: DynamoDB would turn numbers into Decimals and change it.
        "detail": canonical(redact(event["detail"])),
        "appendedAt": appended_at,
    }
    record["hash"] = record_hash(record)
    return record


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str


class ChainReader(Protocol):
    """What verifying the chain reads (the store, or a copy of it)."""

    def head(self) -> Head | None: ...
    def records(self) -> Iterable[Mapping[str, Any]]:
        """The chain's records in seq order."""
        ...


class AuditStore(Protocol):
    def is_recorded(self, key: str) -> bool: ...
    def head(self) -> Head | None: ...
    def append(self, record: dict[str, Any], expected_head: Head) -> str:
        """Write record, its event-key marker and the new head atomically, if the head is still
        ``expected_head``: returns "appended", "duplicate" (key already recorded) or "conflict"."""
        ...


class ChainContention(Exception):
    """Other appenders kept winning the race for the chain head (retried by EventBridge/Lambda)."""


def append_event(store: AuditStore, event: Mapping[str, Any], now: str) -> dict[str, Any] | None:
    """Append the event to the chain; None when it is already there (redelivery or replay)."""
    key = event_key(event["source"], event["detail-type"], event["detail"])
    for _ in range(constants.AUDIT_APPEND_ATTEMPTS):
        if store.is_recorded(key):
            return None
        head = store.head() or Head(0, GENESIS)
        record = new_record(head.seq + 1, head.hash, event, key, now)
        outcome = store.append(record, head)
        if outcome == "appended":
            return record
        if outcome == "duplicate":
            return None
        # "conflict": someone appended first; the chain must not fork, so build on their record.
    raise ChainContention(f"could not append {key} after {constants.AUDIT_APPEND_ATTEMPTS} attempts")


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    problem: str | None = None


def verify(records: Iterable[Mapping[str, Any]], head: Head | None) -> Verification:
    """Walk the chain in ``seq`` order and report the first edited, missing or reordered record."""
    expected_seq, prev_hash, checked = 1, GENESIS, 0
    for record in records:
        seq = int(record["seq"])
        if seq != expected_seq:
            return Verification(False, checked, expected_seq, f"record {expected_seq} is missing (next is {seq})")
        if record["prevHash"] != prev_hash:
            return Verification(False, checked, seq, "prevHash does not match the previous record's hash")
        if record_hash(record) != record["hash"]:
            return Verification(False, checked, seq, "record content does not match its hash (edited)")
        prev_hash, expected_seq, checked = record["hash"], expected_seq + 1, checked + 1
    last = expected_seq - 1
    if head is None:
        return (
            Verification(True, 0) if checked == 0 else Verification(False, checked, None, "the chain head is missing")
        )
    if head.seq != last:
        return Verification(False, checked, last + 1, f"head says {head.seq} records, found {last} (tail deleted)")
    if head.hash != prev_hash:
        return Verification(False, checked, last, "head hash does not match the last record (edited)")
    return Verification(True, checked)


def verify_trail(store: ChainReader) -> Verification:
    """The one check of the audit trail (the function's store, orderctl audit-verify, the sandbox).

    The head is read first: records appended while the chain is walked then only extend past what the
    head promised, and are left for the next check.
    """
    head = store.head()
    return verify((r for r in store.records() if head is None or int(r["seq"]) <= head.seq), head)
