"""DynamoDB's per-partition write limit, modelled on top of moto's DynamoDB (which takes any write rate):

- **write units per partition key and second** (``write_units_per_second``): DynamoDB serves each partition
  at most 1,000 write units a second, on-demand tables too ("key range throughput exceeded",
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/throttling-key-range-limit-exceeded-mitigation.html).
  The model gives every partition key its own budget (an item collection lives in one partition) and counts
  the units of the writes it admitted in the last second of the sandbox clock (``Clock.now()``), as
  sandbox/ses.py counts e-mails. A write costs 1 unit, an item of a transaction 2 (items up to 1 KB:
  every item this system writes is smaller). A refused request writes nothing and costs nothing;
- **what a throttled request answers**, as the DynamoDB API reference documents it:
  ``TransactWriteItems`` is cancelled, ``TransactionCanceledException`` with one cancellation reason per
  item, ``ThrottlingError`` for the items over the limit (the on-demand message) and ``None`` for the
  others; ``PutItem``, ``UpdateItem`` and ``DeleteItem`` answer ``ProvisionedThroughputExceededException``
  with the throttling reason ``TableWriteKeyRangeThroughputExceeded``. boto3 retries the latter itself
  (its standard retry mode), never the former: a cancelled transaction is the caller's to retry.

    from sandbox import dynamodb

    with Sandbox("cdk.out") as sandbox, dynamodb.modelled(sandbox.clock, dynamodb.DynamoLimits(4, tables)) as model:
        ...                        # more than 4 write units a virtual second on one key are refused
        model.throttled, model.throttled_keys
        model.occupy(table, "PRODUCT#LAMP-ARC", 5)   # every write to that key throttled for 5 virtual seconds

Only those four writes are modelled (what the project's adapters write with), reads are not limited.
``tables`` limits the model to some tables (None: every table). ``modelled`` patches moto's DynamoDB
request handler for the block (in-process and server mode alike) and restores it afterwards; blocks do not nest.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sandbox import patching
from sandbox.clock import Clock

PARTITION_WRITE_UNITS_PER_SECOND = 1000.0  # AWS: what one partition serves (a hard limit)
WRITE_UNITS = 1  # a PutItem, UpdateItem or DeleteItem of an item up to 1 KB
TRANSACTIONAL_WRITE_UNITS = 2  # an item of a TransactWriteItems, up to 1 KB
THROTTLING_ERROR = "ThrottlingError"  # a cancellation reason's code
THROTTLING_ERROR_MESSAGE = (
    "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your "
    "table or index so please try again shortly. If exceptions persist, check if you have a hot key: "
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html"
)
THROUGHPUT_EXCEEDED = "ProvisionedThroughputExceededException"
KEY_RANGE_THROTTLED = "TableWriteKeyRangeThroughputExceeded"  # a ThrottlingReason's reason
_ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"
_WINDOW_SECONDS = 1.0


@dataclass(frozen=True)
class DynamoLimits:
    write_units_per_second: float = PARTITION_WRITE_UNITS_PER_SECOND  # per partition key
    tables: frozenset[str] | None = None  # the tables limited (None: every table)

    def __post_init__(self) -> None:
        if self.write_units_per_second < TRANSACTIONAL_WRITE_UNITS:
            raise ValueError(
                f"write_units_per_second must be at least {TRANSACTIONAL_WRITE_UNITS} (a transactional write), "
                f"got {self.write_units_per_second}"
            )


class DynamoModel:
    """What the modelled partitions did: requests throttled, and on which keys."""

    def __init__(self, clock: Clock, limits: DynamoLimits) -> None:
        self.clock = clock
        self.limits = limits
        self.throttled = 0  # requests refused
        self.throttled_keys: Counter[tuple[str, str]] = Counter()  # (table, partition key) -> refusals
        self._lock = threading.Lock()
        self._recent: dict[tuple[str, str], deque[tuple[float, int]]] = {}  # admitted (clock time, units) per key
        self._busy_until: dict[tuple[str, str], float] = {}  # keys whose budget other writers take (occupy)

    def occupy(self, table: str, key: str, seconds: float) -> None:
        """Other writers take the whole budget of partition key `key` for the next `seconds` of the clock: every
        write to it is throttled meanwhile (a hot competitor, for a test that needs a throttle it can rely on)."""
        with self._lock:
            self._busy_until[table, key] = self.clock.now() + seconds

    def admit(self, writes: list[tuple[str, str, int]]) -> list[bool]:
        """For one request's writes (table, partition key, units), which fit their key's budget now. When all
        do, their units are counted; when one does not, nothing is (the request is refused whole)."""
        with self._lock:
            now = self.clock.now()
            wanted: Counter[tuple[str, str]] = Counter()
            for table, key, units in writes:
                if self._limited(table):
                    wanted[table, key] += units
            limit = self.limits.write_units_per_second
            over = {
                where
                for where, units in wanted.items()
                if self._busy(where, now) or self._used(where, now) + units > limit
            }
            if over:
                self.throttled += 1
                self.throttled_keys.update(over)
                return [(table, key) not in over for table, key, _ in writes]
            for where, units in wanted.items():
                self._recent.setdefault(where, deque()).append((now, units))
            return [True] * len(writes)

    def _limited(self, table: str) -> bool:
        return self.limits.tables is None or table in self.limits.tables

    def _busy(self, key: tuple[str, str], now: float) -> bool:
        return now < self._busy_until.get(key, now)

    def _used(self, key: tuple[str, str], now: float) -> int:
        recent = self._recent.get(key)
        if not recent:
            return 0
        while recent and recent[0][0] <= now - _WINDOW_SECONDS:
            recent.popleft()
        return sum(units for _, units in recent)


_SINGLE_WRITES = {"put_item": "Item", "update_item": "Key", "delete_item": "Key"}


@contextmanager
def modelled(clock: Clock, limits: DynamoLimits) -> Iterator[DynamoModel]:
    """moto's DynamoDB writes behave as DynamoDB's partitions with `limits` for the block (the module's docstring)."""
    from moto.dynamodb.responses import DynamoHandler

    model = DynamoModel(clock, limits)
    wraps: dict[str, patching.Wrap] = {name: _single_write(model, item) for name, item in _SINGLE_WRITES.items()}
    wraps["transact_write_items"] = _transaction(model)
    with patching.wrapped(DynamoHandler, wraps, "a DynamoDB model"):
        yield model


def _single_write(model: DynamoModel, attribute: str) -> patching.Wrap:
    def wrap(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def write(handler: Any) -> Any:
            table = str(handler.body["TableName"])
            if not model.admit([(table, _partition_key(handler, table, handler.body[attribute]), WRITE_UNITS)])[0]:
                raise _throughput_exceeded(handler, table)
            return original(handler)

        return write

    return wrap


def _transaction(model: DynamoModel) -> patching.Wrap:
    def wrap(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def transact_write_items(handler: Any) -> Any:
            writes = []
            for entry in handler.body["TransactItems"]:
                operation, request = next(iter(entry.items()))
                table = str(request["TableName"])
                item = request["Item"] if operation == "Put" else request["Key"]
                writes.append((table, _partition_key(handler, table, item), TRANSACTIONAL_WRITE_UNITS))
            admitted = model.admit(writes)
            if not all(admitted):
                from moto.dynamodb.exceptions import TransactionCanceledException

                throttled = (THROTTLING_ERROR, THROTTLING_ERROR_MESSAGE, None)
                raise TransactionCanceledException([(None, None, None) if ok else throttled for ok in admitted])
            return original(handler)

        return transact_write_items

    return wrap


def _partition_key(handler: Any, table: str, item: dict[str, Any]) -> str:
    """The partition key's value of an item or key in DynamoDB's JSON ({"S": "PRODUCT#..."} -> "PRODUCT#...")."""
    attribute = handler.dynamodb_backend.get_table(table).hash_key_attr
    return str(next(iter(dict(item[attribute]).values())))


def _throughput_exceeded(handler: Any, table: str) -> Exception:
    from moto.dynamodb.exceptions import DynamodbException
    from moto.dynamodb.models.utilities import dynamo_json_dump

    message = "Throughput exceeds the current throughput limit of a key range of your table."
    error = DynamodbException(_ERROR_PREFIX + THROUGHPUT_EXCEEDED, message)
    arn = handler.dynamodb_backend.get_table(table).table_arn
    error.description = dynamo_json_dump(
        {
            "__type": _ERROR_PREFIX + THROUGHPUT_EXCEEDED,
            "message": message,
            "ThrottlingReasons": [{"reason": KEY_RANGE_THROTTLED, "resource": arn}],
        }
    )
    return error
