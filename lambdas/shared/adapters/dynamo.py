"""DynamoDB helpers for the stores: transactions, counters applied once per business key, paginated queries.

EventBridge may deliver an event twice and an archive replay delivers it again, so a subscriber
cannot trust the event id. It writes a marker for the business key (e.g. the order id) in the
*same* DynamoDB transaction as its counter ADDs, conditioned on the marker not existing: either
both land or neither does, and a redelivery changes nothing.

Every helper takes the DynamoDB ``Table`` resource to work on: a function passes
``aws_clients.table(name)``, a tool its own session's table (orderctl, the sandbox).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any, NamedTuple

from boto3.dynamodb.conditions import Key as KeyCondition
from botocore.exceptions import ClientError

from lambdas.shared import constants

Key = dict[str, str]


class Increment(NamedTuple):
    """ADD ``add`` to the item at ``key`` (created when absent); ``set_once`` fills attributes once."""

    key: Key
    add: dict[str, int | Decimal]
    set_once: Mapping[str, Any] = MappingProxyType({})  # read-only: one default shared by every Increment


def _update(table_name: str, inc: Increment) -> dict[str, Any]:
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    adds, sets = [], []
    for i, (attribute, amount) in enumerate(inc.add.items()):
        names[f"#a{i}"], values[f":a{i}"] = attribute, amount
        adds.append(f"#a{i} :a{i}")
    for i, (attribute, value) in enumerate(inc.set_once.items()):
        names[f"#s{i}"], values[f":s{i}"] = attribute, value
        sets.append(f"#s{i} = if_not_exists(#s{i}, :s{i})")
    expression = "ADD " + ", ".join(adds)
    if sets:
        expression = "SET " + ", ".join(sets) + " " + expression
    return {
        "TableName": table_name,
        "Key": inc.key,
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


# Cancellations that clear with time, retried here (boto3 retries a throttled single write itself, never a
# cancelled transaction): another transaction on an item, or an item's partition over its write limit
# (ThrottlingError on an on-demand table, ProvisionedThroughputExceeded on a provisioned one). "None" marks the
# items that were fine. 8 attempts back off at most ~2.5 s in all (backoff_seconds), well within a function's
# timeout, and span several of a partition's one-second budgets; still cancelled, the error surfaces and the
# workflow's throttling Retry takes the step again (README, the retry table).
_TRANSACT_ATTEMPTS = 8
_RETRIED_CANCELLATIONS = frozenset({"None", "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
_BATCH_GET_LIMIT = 100  # DynamoDB's maximum keys per BatchGetItem
_BATCH_GET_ATTEMPTS = 6
# Its own generator: the process's `random` is shared by every thread (the sandbox runs all functions in one
# process), and moving it under another's feet is what tests/unit/test_backoff.py says it must not do.
_JITTER = random.Random()
_BACKOFF_BASE_SECONDS = 0.02


def backoff_seconds(attempt: int) -> float:
    """How long to wait before retry `attempt` (0, 1, ...): full jitter over 20 ms x 2^attempt."""
    return _JITTER.uniform(0, _BACKOFF_BASE_SECONDS * 2**attempt)


def batch_get(
    dynamo_table: Any, keys: Sequence[Mapping[str, Any]], *, consistent: bool = False
) -> list[dict[str, Any]]:
    """The items at ``keys`` that exist, in no particular order: BatchGetItem, 100 keys a call, and the keys
    DynamoDB leaves unprocessed (throttled) asked again after a back-off with jitter; RuntimeError when some
    stay unprocessed ``_BATCH_GET_ATTEMPTS`` times in a row."""
    name = dynamo_table.name
    dynamodb = dynamo_table.meta.client
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), _BATCH_GET_LIMIT):
        chunk = list(keys[start : start + _BATCH_GET_LIMIT])
        request: dict[str, Any] = {name: {"Keys": chunk, "ConsistentRead": consistent}}
        for attempt in range(_BATCH_GET_ATTEMPTS):
            page = dynamodb.batch_get_item(RequestItems=request)
            found.extend(page.get("Responses", {}).get(name, []))
            request = page.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(backoff_seconds(attempt))
        else:
            raise RuntimeError(f"{name}: a read of {len(chunk)} items throttled {_BATCH_GET_ATTEMPTS} times in a row")
    return found


def transact(dynamo_table: Any, items: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """One TransactWriteItems with plain Python values: None when it committed, else the
    cancellation reasons (one per item) when a condition failed.

    A cancellation caused only by a concurrent transaction on the same item (two orders adding to
    the same day's counter) or by throttling (a hot product's stock item over its partition's write
    limit) is retried here with jitter instead of failing the whole delivery or step.
    """
    for attempt in range(_TRANSACT_ATTEMPTS):
        try:
            # The resource's client serializes plain values (str, int, Decimal) into DynamoDB's types.
            dynamo_table.meta.client.transact_write_items(TransactItems=items)
            return None
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons: list[dict[str, Any]] = error.response.get("CancellationReasons") or []
            codes = {reason.get("Code") for reason in reasons}
            if "ConditionalCheckFailed" in codes:
                return reasons
            if not codes <= _RETRIED_CANCELLATIONS or attempt == _TRANSACT_ATTEMPTS - 1:
                raise
        time.sleep(backoff_seconds(attempt))
    raise AssertionError("unreachable")


def integers(value: Any) -> Any:
    """An item as read, with DynamoDB's Decimal numbers as int (every number this system stores is whole)."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: integers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [integers(v) for v in value]
    return value


def conditional_check_failed(error: ClientError) -> bool:
    """A single write's condition did not hold (the item was there, or not in the state the write expected)."""
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def condition_failed(reasons: list[dict[str, Any]], index: int) -> bool:
    return len(reasons) > index and reasons[index].get("Code") == "ConditionalCheckFailed"


def add_once(dynamo_table: Any, marker: dict[str, Any], increments: list[Increment]) -> bool:
    """Write ``marker`` (it must hold a subscriber table's keys) and apply ``increments`` atomically.

    Returns False, changing nothing, when the marker already exists (a redelivery). Callers pass
    at most 99 increments on distinct keys (a transaction holds 100 items, each item once).
    """
    name = dynamo_table.name
    absent = f"attribute_not_exists({constants.SUBSCRIBER_TABLE_KEYS[0]})"
    put = {"TableName": name, "Item": marker, "ConditionExpression": absent}
    reasons = transact(dynamo_table, [{"Put": put}] + [{"Update": _update(name, inc)} for inc in increments])
    if reasons is None:
        return True
    if condition_failed(reasons, 0):
        return False
    raise RuntimeError(f"counter update rejected: {reasons}")


def put_if(dynamo_table: Any, item: dict[str, Any], condition: str, values: dict[str, Any], **names: str) -> bool:
    """PutItem under a condition: False (nothing written) when the condition does not hold.

    ``names`` become ExpressionAttributeNames ("#s" is spelled ``s="status"``).
    """
    kwargs: dict[str, Any] = {"Item": item, "ConditionExpression": condition, "ExpressionAttributeValues": values}
    if names:
        kwargs["ExpressionAttributeNames"] = {f"#{k}": v for k, v in names.items()}
    try:
        dynamo_table.put_item(**kwargs)
    except ClientError as error:
        if conditional_check_failed(error):
            return False
        raise
    return True


def query_all(
    dynamo_table: Any,
    pk: str,
    sk_prefix: str | None = None,
    sk_between: tuple[str, str] | None = None,
    keys: tuple[str, str] = constants.SUBSCRIBER_TABLE_KEYS,
) -> Iterator[dict[str, Any]]:
    """Every item of partition ``pk`` (optionally: sort key with a prefix, or within a range), in key
    order, strongly consistent, all pages. ``keys``: the table's (partition, sort) key names."""
    partition, sort = keys
    condition = KeyCondition(partition).eq(pk)
    if sk_prefix is not None:
        condition &= KeyCondition(sort).begins_with(sk_prefix)
    if sk_between is not None:
        condition &= KeyCondition(sort).between(*sk_between)
    return all_items(dynamo_table.query, KeyConditionExpression=condition, ConsistentRead=True)


def all_items(operation: Callable[..., dict[str, Any]], **request: Any) -> Iterator[dict[str, Any]]:
    """Every item a Query or Scan returns, all pages: ``all_items(table.scan, FilterExpression=...)``."""
    while True:
        page = operation(**request)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
