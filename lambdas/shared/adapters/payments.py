"""The payments table: one item per order, keyed by orderId (docs/CONTRACTS.md).

Every write is conditional on the status the caller saw, so two concurrent or repeated calls
never both move the same payment: the loser learns it lost (False) and re-reads.
"""

from __future__ import annotations

from typing import Any, Final

from botocore.exceptions import ClientError

from lambdas.shared import constants
from lambdas.shared.adapters.dynamo import all_items, batch_get, conditional_check_failed, integers
from lambdas.shared.payment_status import (
    TASK_FAILED,
    TASK_NONE,
    TASK_SUCCEEDED,
    TASK_TIMED_OUT,
    TASK_WAITING,
    ReviewTask,
    StaleTaskToken,
)

_KEY: Final = constants.PAYMENTS_TABLE_KEYS[0]


class PaymentsTable:
    def __init__(self, dynamo_table: Any) -> None:
        self._table = dynamo_table

    def get(self, order_id: str) -> dict[str, Any] | None:
        # Strongly consistent: decisions are taken on what this read returns.
        item = self._table.get_item(Key={_KEY: order_id}, ConsistentRead=True).get("Item")
        return integers(item) if item else None

    def get_many(self, order_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The payment items of these orders by order id (orders without one are left out).

        BatchGetItem (dynamo.batch_get): one round trip per hundred orders instead of one each (the review
        monitor reads every running order this way).
        """
        keys = [{_KEY: order_id} for order_id in dict.fromkeys(order_ids)]
        return {item[_KEY]: integers(item) for item in batch_get(self._table, keys, consistent=True)}

    def create(self, item: dict[str, Any]) -> bool:
        """Write a new payment item; False when the order already has one (nothing is written)."""
        try:
            self._table.put_item(
                Item=item, ConditionExpression="attribute_not_exists(#k)", ExpressionAttributeNames={"#k": _KEY}
            )
        except ClientError as error:
            if conditional_check_failed(error):
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
            if conditional_check_failed(error):
                return False
            raise
        return True


class OperationConflict(Exception):
    """The gateway ledger already holds ``other`` (e.g. a void) that excludes this operation."""

    def __init__(self, other: dict[str, Any]) -> None:
        super().__init__(f"{other.get('operation')} already recorded under {other.get(_GATEWAY_KEY)}")
        self.other = other


_GATEWAY_KEY, _GATEWAY_OPERATION = constants.GATEWAY_LEDGER_TABLE_KEYS


class GatewayLedger:
    """The simulated payment provider's own records (its side, not our payments table): one item per
    (idempotency key, operation), written once by a conditional put; a repeat returns the first.

    Items: {idempotencyKey, operation: CHARGE | REFUND | VOID, chargeId, ...} (lambdas/shared/payment_gateway.py).
    """

    def __init__(self, dynamo_table: Any) -> None:
        self._table = dynamo_table

    def get(self, key: str, operation: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={_GATEWAY_KEY: key, _GATEWAY_OPERATION: operation}, ConsistentRead=True)
        return integers(item["Item"]) if "Item" in item else None

    def first(self, key: str, operation: str, record: dict[str, Any], unless: str | None = None) -> dict[str, Any]:
        """Write ``record`` unless (key, operation) exists; returns what is stored (the first write).

        ``unless`` names another operation of the key that excludes this one (a refund excludes a void
        and back): checked in the same transaction; OperationConflict carries it when it exists."""
        item = {**record, _GATEWAY_KEY: key, _GATEWAY_OPERATION: operation}
        absent = {"ConditionExpression": "attribute_not_exists(#k)", "ExpressionAttributeNames": {"#k": _GATEWAY_KEY}}
        try:
            if unless is None:
                self._table.put_item(Item=item, **absent)
            else:
                self._table.meta.client.transact_write_items(
                    TransactItems=[
                        {"Put": {"TableName": self._table.name, "Item": item, **absent}},
                        {
                            "ConditionCheck": {
                                "TableName": self._table.name,
                                "Key": {_GATEWAY_KEY: key, _GATEWAY_OPERATION: unless},
                                **absent,
                            }
                        },
                    ]
                )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code not in ("ConditionalCheckFailedException", "TransactionCanceledException"):
                raise
            stored = self.get(key, operation)
            if stored is not None:
                return stored
            other = self.get(key, unless) if unless else None
            if other is not None:
                raise OperationConflict(other) from None
            raise
        return integers(item)

    def records(self, key: str) -> list[dict[str, Any]]:
        """Every record of one idempotency key (an order), CHARGE / REFUND / VOID."""
        items = all_items(
            self._table.query,
            KeyConditionExpression="#k = :k",
            ExpressionAttributeNames={"#k": _GATEWAY_KEY},
            ExpressionAttributeValues={":k": key},
            ConsistentRead=True,
        )
        return [integers(item) for item in items]

    def all_records(self) -> dict[str, list[dict[str, Any]]]:
        """Every record by idempotency key (a full scan: for audits and test invariants, not handlers)."""
        found: dict[str, list[dict[str, Any]]] = {}
        for item in all_items(self._table.scan, ConsistentRead=True):
            found.setdefault(str(item[_GATEWAY_KEY]), []).append(integers(item))
        return found


# Step Functions' answers for a token whose task is no longer waiting.
_STALE_TOKEN_CODES: Final = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})

_TASK_EVENTS: Final = {
    "TaskSucceeded": TASK_SUCCEEDED,
    "TaskFailed": TASK_FAILED,
    "TaskTimedOut": TASK_TIMED_OUT,
    "TaskScheduled": TASK_WAITING,
    "TaskStarted": TASK_WAITING,
    "TaskSubmitted": TASK_WAITING,
}
_CALLBACK_RESOURCE_SUFFIX: Final = ".waitForTaskToken"


class ReviewCallbacks:
    """Resumes the execution waiting on a payment review's task token, and reads what became of it.

    The order's execution is named after the order (ValidateOrder refuses any other name), so its
    ARN follows from the state machine's."""

    def __init__(self, stepfunctions_client: Any, state_machine_arn: str) -> None:
        self._client = stepfunctions_client
        self._state_machine_arn = state_machine_arn

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

    def review_task(self, order_id: str) -> ReviewTask | None:
        """What the order's execution last recorded about its review task; None without an execution."""
        machine = self._state_machine_arn
        arn = machine.replace(":stateMachine:", ":execution:", 1) + ":" + order_id
        try:
            status = self._client.describe_execution(executionArn=arn)["status"]
            # All pages, the last word kept: one order's history is a few dozen events (and moto
            # ignores reverseOrder).
            pages = self._client.get_paginator("get_execution_history").paginate(
                executionArn=arn, includeExecutionData=False
            )
            events = [event for page in pages for event in page["events"]]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
                return None
            raise
        for event in sorted(events, key=lambda e: int(e["id"]), reverse=True):
            task = _review_task_event(event, status)
            if task is not None:
                return task
        return ReviewTask(TASK_NONE, status)


def _review_task_event(event: dict[str, Any], execution_status: str) -> ReviewTask | None:
    state = _TASK_EVENTS.get(event["type"])
    if state is None:
        return None
    details = next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})
    if not str(details.get("resource", "")).endswith(_CALLBACK_RESOURCE_SUFFIX):
        return None
    return ReviewTask(state, execution_status, details.get("error"), event.get("timestamp"))
