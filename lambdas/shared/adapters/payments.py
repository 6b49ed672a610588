"""The payments table: one item per order, keyed by orderId (docs/CONTRACTS.md).

Every write is conditional on the status the caller saw, so two concurrent or repeated calls
never both move the same payment: the loser learns it lost (False) and re-reads.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from botocore.exceptions import ClientError

from lambdas.shared import constants
from lambdas.shared.adapters.aws_clients import client, env, table

# Statuses of a payment item. CHARGING marks a claimed charge whose gateway outcome is not
# recorded yet (a crash in between): a retry completes it, a compensation voids it.
CHARGING: Final = "CHARGING"
APPROVED: Final = "APPROVED"
REVIEW_PENDING: Final = "REVIEW_PENDING"
REVIEW_APPROVED: Final = "REVIEW_APPROVED"
REVIEW_REJECTED: Final = "REVIEW_REJECTED"
DECLINED: Final = "DECLINED"
REFUNDED: Final = "REFUNDED"
VOIDED: Final = "VOIDED"

_KEY: Final = constants.PAYMENTS_TABLE_KEYS[0]
_BATCH_GET_LIMIT: Final = 100  # DynamoDB's maximum keys per BatchGetItem
_BATCH_GET_ATTEMPTS: Final = 5


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; ours are all integers."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _condition_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class PaymentsTable:
    def __init__(self, dynamo_table: Any) -> None:
        self._table = dynamo_table

    @classmethod
    def from_env(cls) -> PaymentsTable:
        return cls(table(env(constants.ENV_PAYMENTS_TABLE)))

    def get(self, order_id: str) -> dict[str, Any] | None:
        # Strongly consistent: decisions are taken on what this read returns.
        item = self._table.get_item(Key={_KEY: order_id}, ConsistentRead=True).get("Item")
        return _plain(item) if item else None

    def get_many(self, order_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The payment items of these orders by order id (orders without one are left out).

        BatchGetItem, 100 keys a call, unprocessed keys asked again: one round trip per hundred
        orders instead of one each (the review monitor reads every running order this way).
        """
        found: dict[str, dict[str, Any]] = {}
        name = self._table.name
        pending = [{_KEY: order_id} for order_id in dict.fromkeys(order_ids)]
        while pending:
            batch, pending = pending[:_BATCH_GET_LIMIT], pending[_BATCH_GET_LIMIT:]
            request: dict[str, Any] = {name: {"Keys": batch, "ConsistentRead": True}}
            for _ in range(_BATCH_GET_ATTEMPTS):
                response = self._table.meta.client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(name, []):
                    found[item[_KEY]] = _plain(item)
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise RuntimeError(f"payments table kept returning unprocessed keys for {len(batch)} orders")
        return found

    def create(self, item: dict[str, Any]) -> bool:
        """Write a new payment item; False when the order already has one (nothing is written)."""
        try:
            self._table.put_item(
                Item=item, ConditionExpression="attribute_not_exists(#k)", ExpressionAttributeNames={"#k": _KEY}
            )
        except ClientError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def update(
        self,
        order_id: str,
        expected_status: str,
        values: dict[str, Any],
        remove: tuple[str, ...] = (),
        expected: dict[str, Any] | None = None,
    ) -> bool:
        """SET ``values`` and REMOVE ``remove`` if the item's status is still ``expected_status``
        (and every attribute in ``expected`` still has that value); False when it is not."""
        names: dict[str, str] = {"#status": "status"}
        attr_values: dict[str, Any] = {":expected_status": expected_status}
        sets = []
        for i, (name, value) in enumerate(values.items()):
            names[f"#s{i}"] = name
            attr_values[f":s{i}"] = value
            sets.append(f"#s{i} = :s{i}")
        conditions = ["#status = :expected_status"]
        for i, (name, value) in enumerate((expected or {}).items()):
            names[f"#c{i}"] = name
            attr_values[f":c{i}"] = value
            conditions.append(f"#c{i} = :c{i}")
        expression = "SET " + ", ".join(sets)
        if remove:
            names.update({f"#r{i}": name for i, name in enumerate(remove)})
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(remove)))
        try:
            self._table.update_item(
                Key={_KEY: order_id},
                UpdateExpression=expression,
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=attr_values,
            )
        except ClientError as error:
            if _condition_failed(error):
                return False
            raise
        return True


# Step Functions' answers for a token whose task is no longer waiting.
_STALE_TOKEN_CODES: Final = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})


class StaleTaskToken(Exception):
    """The waiting task is gone (timed out, already answered, or its execution ended)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class ReviewCallbacks:
    """Resumes the execution waiting on a payment review's task token."""

    def __init__(self, stepfunctions_client: Any) -> None:
        self._client = stepfunctions_client

    @classmethod
    def from_env(cls) -> ReviewCallbacks:
        return cls(client("stepfunctions"))

    def succeed(self, task_token: str, output: str) -> None:
        self._send(self._client.send_task_success, taskToken=task_token, output=output)

    def fail(self, task_token: str, error: str, cause: str) -> None:
        self._send(self._client.send_task_failure, taskToken=task_token, error=error, cause=cause)

    @staticmethod
    def _send(call: Any, **kwargs: str) -> None:
        try:
            call(**kwargs)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in _STALE_TOKEN_CODES:
                raise StaleTaskToken(code) from error
            raise
