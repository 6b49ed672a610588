"""Audit trail: every event from our sources, append-only, chained by hashes, anchored outside the table.

Record ``n`` stores ``prevHash`` (record n-1's hash, or GENESIS) and
``hash = sha256(prevHash + canonical JSON of the record's other fields)``. Editing a record breaks
its own hash; deleting one leaves a gap in ``seq`` and a ``prevHash`` that matches nothing; a record
past the head, or a head past the last record, is a cut or an injected tail.

Whoever can write the table could still rewrite it consistently (edit a record, recompute every later
hash and the head; or delete the tail and roll the head back). So after each append the writer also
puts a *checkpoint* (seq, hash) where nobody can rewrite it: a write-once object in an object-locked
bucket (``store.CheckpointBucket``, docs/SECURITY.md says why not a signature). Verification compares
every checkpoint with the chain: one past the last record means records were deleted, a different hash
at its seq means the chain was rewritten.

A record's identity is the hash of the event's source, detail-type and detail (``event_key``),
not the EventBridge event id: a redelivery or an archive replay has a new id but the same key,
so it appends nothing.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple, Protocol

from lambdas.marketplaces import registry as channels
from lambdas.shared import constants

GENESIS = "0" * 64
REDACTED = "[redacted]"
# The fields a record's hash covers, in this order.
HASHED_FIELDS = (
    "seq",
    "eventKey",
    "prevHash",
    "source",
    "detailType",
    "channel",
    "eventId",
    "eventTime",
    "detail",
    "appendedAt",
)


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


def channel_of(event: Mapping[str, Any]) -> str:
    """Where the event's order came from (web, marketplace:<name>, store:<name>); "" for an event that is
    no order's (ReorderSuggested). A marketplace's own event names it by its source."""
    data = event["detail"].get("data", {}) if isinstance(event["detail"], Mapping) else {}
    if isinstance(data, Mapping) and isinstance(data.get("channel"), str):
        return str(data["channel"])
    if connector := channels.by_source(event["source"]):
        return connector.channel
    if event["source"] != constants.EVENT_SOURCE:
        return ""
    # Our order events carry the channel since channels exist; before that every order came from the web.
    return constants.CHANNEL_WEB if isinstance(data, Mapping) and "orderId" in data else ""


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
        "channel": channel_of(event),
        "eventId": event.get("id", ""),  # the first delivery's id, for tracing only
        "eventTime": event.get("time", ""),
        # Stored as canonical JSON text: DynamoDB would turn numbers into Decimals and change it.
        "detail": canonical(redact(event["detail"])),
        "appendedAt": appended_at,
    }
    record["hash"] = record_hash(record)
    return record


class Head(NamedTuple):
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


class CheckpointWriter(Protocol):
    def anchor(self, head: Head) -> bool:
        """Write the checkpoint of ``head`` once; False when it already exists."""
        ...


def append_event(
    store: AuditStore,
    checkpoints: CheckpointWriter,
    event: Mapping[str, Any],
    now: str,
    pause: Callable[[float], None] = time.sleep,
) -> dict[str, Any] | None:
    """Append the event to the chain and anchor the new head; None when it is already there (redelivery
    or replay: then the current head is anchored again, which repairs a run that died between its append
    and its checkpoint).

    An appender that loses the race for the head backs off before it re-reads (``pause``: full jitter,
    doubling): a flash sale's events arrive together, and appenders that retried at once would keep colliding
    until their attempts ran out and the events went to the dead-letter queue (the reliability suite's load
    run saw exactly that)."""
    key = event_key(event["source"], event["detail-type"], event["detail"])
    for attempt in range(constants.AUDIT_APPEND_ATTEMPTS):
        if attempt:
            pause(append_backoff(attempt))
        if store.is_recorded(key):
            _anchor_head(store, checkpoints)
            return None
        head = store.head() or Head(0, GENESIS)
        record = new_record(head.seq + 1, head.hash, event, key, now)
        outcome = store.append(record, head)
        if outcome == "appended":
            checkpoints.anchor(Head(record["seq"], record["hash"]))
            return record
        if outcome == "duplicate":
            _anchor_head(store, checkpoints)
            return None
        # "conflict": someone appended first; the chain must not fork, so build on their record.
    raise ChainContention(f"could not append {key} after {constants.AUDIT_APPEND_ATTEMPTS} attempts")


def append_backoff(attempt: int, draw: Callable[[], float] = random.random) -> float:
    """Seconds to wait before append attempt ``attempt`` (1, 2, ...): full jitter under a doubling cap."""
    cap = min(constants.AUDIT_BACKOFF_MAX_SECONDS, constants.AUDIT_BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    return draw() * cap


def _anchor_head(store: AuditStore, checkpoints: CheckpointWriter) -> None:
    if head := store.head():
        checkpoints.anchor(head)


class Verification(NamedTuple):
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    problem: str | None = None
    anchored_seq: int = 0  # the newest checkpoint: records up to it cannot be cut or rewritten unseen


class CheckpointReader(Protocol):
    def checkpoints(self) -> Iterable[Head]:
        """Every checkpoint written (one per appended record), in any order."""
        ...


def verify(
    records: Iterable[Mapping[str, Any]],
    head: Head | None,
    checkpoints: Iterable[Head],
    head_after: Head | None = None,
) -> Verification:
    """Walk every stored record in ``seq`` order and report the first edited, missing, reordered, cut or
    injected one, and the first that differs from its checkpoint.

    ``head`` is read before the records and ``head_after`` after them (default: ``head``): a record past
    ``head_after`` was not appended through the head, a ``head`` past the last record lost its tail.
    Every checkpoint is compared, not only the newest: a writer that kept appending on a rewritten chain
    anchors the rewrite from there on, the checkpoints before it still hold the original hashes.
    """
    head_after = head if head_after is None else head_after
    anchors = list(checkpoints)
    anchored = max((c.seq for c in anchors), default=0)

    def broken(checked: int, seq: int | None, problem: str) -> Verification:
        return Verification(False, checked, seq, problem, anchored)

    expected_seq, prev_hash, hashes = 1, GENESIS, [GENESIS]
    for record in records:
        seq = int(record["seq"])
        if seq != expected_seq:
            return broken(len(hashes) - 1, expected_seq, f"record {expected_seq} is missing (next is {seq})")
        if record["prevHash"] != prev_hash:
            return broken(len(hashes) - 1, seq, "prevHash does not match the previous record's hash")
        if record_hash(record) != record["hash"]:
            return broken(len(hashes) - 1, seq, "record content does not match its hash (edited)")
        prev_hash, expected_seq = record["hash"], expected_seq + 1
        hashes.append(prev_hash)
    last = len(hashes) - 1
    if head is None and last:
        return broken(last, None, "the chain head is missing")
    if head is not None and head.seq > last:
        return broken(last, last + 1, f"head says {head.seq} records, found {last} (tail deleted)")
    if head is not None and head.hash != hashes[head.seq]:
        return broken(last, head.seq, "head hash does not match its record (edited)")
    after = head_after.seq if head_after else 0
    if last > after:
        return broken(last, after + 1, f"records {after + 1}..{last} are past the head (appended around it)")
    if last and not anchors:
        return broken(last, 1, "no checkpoint anchors the chain")
    if anchored > last:
        return broken(last, last + 1, f"checkpoint {anchored} is past the last record {last} (records deleted)")
    seen: dict[int, str] = {}
    for checkpoint in sorted(anchors, key=lambda c: c.seq):
        if seen.setdefault(checkpoint.seq, checkpoint.hash) != checkpoint.hash:
            return broken(last, checkpoint.seq, f"record {checkpoint.seq} has two different checkpoints")
        if checkpoint.hash != hashes[checkpoint.seq]:
            return broken(last, checkpoint.seq, f"record {checkpoint.seq} differs from its checkpoint (rewritten)")
    return Verification(True, last, anchored_seq=anchored)


def verify_trail(store: ChainReader, checkpoints: CheckpointReader) -> Verification:
    """The one check of the audit trail (orderctl audit-verify and the sandbox, through store.verify_stored).

    Read in the order appends write, backwards: the checkpoints, the head, the records, the head again. An
    append racing the check then only adds records that the second read of the head covers.
    """
    anchors = list(checkpoints.checkpoints())
    head = store.head()
    records = list(store.records())
    return verify(records, head, anchors, store.head())
