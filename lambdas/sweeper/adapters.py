"""AWS for the sweeper and `orderctl sweep|repair`: scans, executions, re-running steps, repair records.

How the tables are read, and why: none of the order tables has an index on status (payments is keyed
by orderId, inventory and the notifications table by pk/sk), so each is read with a paginated Scan
and a FilterExpression on the intermediate status. The filter saves the transfer, not the read
capacity: a sweep reads every item once (payments: one per order ever taken; inventory: catalog,
stock and one hold per order line; notifications: one claim per completed order, TTL-expired). At
a sweep every 15 minutes that is cheap for a shop of this size; when the tables grow into the
millions, a sparse GSI on the intermediate statuses (an attribute set only while CHARGING,
REVIEW_PENDING, HELD or SENDING) turns each scan into a query of the few stuck items. Executions
are listed through ListExecutions (status FAILED), and each failed execution is examined once: its
verdict is kept in the repairs table, so later sweeps skip it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from lambdas.shared import constants
from lambdas.shared.adapters import executions, inventory
from lambdas.shared.adapters.aws_clients import client, table
from lambdas.shared.adapters.dynamo import all_items, batch_get, conditional_check_failed, query_all
from lambdas.shared.adapters.ledger import transaction_key
from lambdas.shared.events import parse_time
from lambdas.shared.ledger import SALE
from lambdas.shared.payment_status import CHARGING, REVIEW_PENDING
from lambdas.shared.settings import text
from lambdas.shared.stock import HELD
from lambdas.subscribers.notifications.store import expired_claims
from lambdas.sweeper import logic

# The repairs table (a subscriber-style (pk, sk) table): ORDER#<orderId> / VERDICT#<n> | COMPENSATION.
_ORDER_PREFIX = "ORDER#"
_PK, _SK = constants.SUBSCRIBER_TABLE_KEYS
_TTL = constants.MARKER_TTL_ATTRIBUTE
_INVENTORY_PK, _INVENTORY_SK = constants.INVENTORY_TABLE_KEYS
IN_PROGRESS = "IN_PROGRESS"
DONE = "DONE"
PARTIAL = "PARTIAL"


def _time(value: Any) -> datetime | None:
    try:
        return parse_time(str(value)) if value else None
    except ValueError:
        return None


class SweeperSettings(NamedTuple):
    """The scheduled sweeper's environment (infra/sweeper.py sets it), read once per container."""

    payments_table: str
    inventory_table: str
    ledger_table: str
    repairs_table: str
    notifications_table: str
    state_machine_arn: str
    refund_function: str
    release_function: str
    auto_repair: bool

    @classmethod
    def from_env(cls) -> SweeperSettings:
        return cls(
            payments_table=text(constants.ENV_PAYMENTS_TABLE),
            inventory_table=text(constants.ENV_INVENTORY_TABLE),
            ledger_table=text(constants.ENV_LEDGER_TABLE),
            repairs_table=text(logic.ENV_REPAIRS_TABLE),
            notifications_table=text(logic.ENV_NOTIFICATIONS_TABLE),
            state_machine_arn=text(constants.ENV_STATE_MACHINE_ARN),
            refund_function=text(logic.ENV_REFUND_FUNCTION),
            release_function=text(logic.ENV_RELEASE_FUNCTION),
            auto_repair=os.environ.get(logic.ENV_AUTO_REPAIR, "true").lower() != "false",
        )


class SweeperAws(NamedTuple):
    """Every AWS call of the sweeper; built from the Lambda's environment or from orderctl's stack."""

    stepfunctions: Any
    lambda_client: Any
    sqs: Any
    events: Any
    payments: Any  # DynamoDB Table resources
    inventory: Any
    ledger: Any
    repairs: Any
    notifications: Any | None
    state_machine_arn: str
    functions: dict[str, str]  # state name (RefundPayment, ReleaseStock) -> function name or ARN

    @classmethod
    def from_settings(cls, settings: SweeperSettings) -> SweeperAws:
        return cls(
            stepfunctions=client("stepfunctions"),
            lambda_client=client("lambda"),
            sqs=client("sqs"),
            events=client("events"),
            payments=table(settings.payments_table),
            inventory=table(settings.inventory_table),
            ledger=table(settings.ledger_table),
            repairs=table(settings.repairs_table),
            notifications=table(settings.notifications_table),
            state_machine_arn=settings.state_machine_arn,
            functions={logic.REFUND_STATE: settings.refund_function, logic.RELEASE_STATE: settings.release_function},
        )

    # -- items in an intermediate state ----------------------------------------------------------
    def stuck_payments(self) -> Iterator[tuple[str, str, datetime | None]]:
        """(orderId, status, createdAt) of every payment CHARGING or REVIEW_PENDING."""
        for item in all_items(
            self.payments.scan,
            FilterExpression=Attr("status").is_in([CHARGING, REVIEW_PENDING]),
            ProjectionExpression="orderId, #s, createdAt, requestedAt",
            ExpressionAttributeNames={"#s": "status"},
        ):
            since = _time(item.get("requestedAt")) or _time(item.get("createdAt"))
            yield str(item["orderId"]), str(item["status"]), since

    def held_holds(self) -> Iterator[tuple[str, datetime | None]]:
        """(orderId, heldAt) of every hold still HELD."""
        for item in all_items(
            self.inventory.scan,
            FilterExpression=Attr(_INVENTORY_PK).begins_with(inventory.ORDER_PREFIX)
            & Attr(_INVENTORY_SK).begins_with(inventory.HOLD_PREFIX)
            & Attr("status").eq(HELD),
            ProjectionExpression=f"{_INVENTORY_PK}, heldAt",
        ):
            yield str(item[_INVENTORY_PK]).removeprefix(inventory.ORDER_PREFIX), _time(item.get("heldAt"))

    def payment(self, order_id: str) -> dict[str, Any] | None:
        key = constants.PAYMENTS_TABLE_KEYS[0]
        item = self.payments.get_item(Key={key: order_id}, ConsistentRead=True).get("Item")
        return dict(item) if item else None

    def held_lines(self, order_id: str) -> int:
        """How many of one order's holds are still HELD (strongly consistent)."""
        holds = query_all(
            self.inventory,
            inventory.order_pk(order_id),
            sk_prefix=inventory.HOLD_PREFIX,
            keys=constants.INVENTORY_TABLE_KEYS,
        )
        return sum(1 for item in holds if item.get("status") == HELD)

    def expired_claims(self, now: datetime) -> Iterator[tuple[str, int, int, str]]:
        """(orderId, leaseUntil, claimedAt, kind) of every notifications claim still SENDING whose lease has
        passed (leaseUntil 0: released by its run), as the notifications subscriber's store reads them
        (kind: "" the confirmation e-mail, TRACKING the tracking e-mail)."""
        if self.notifications is None:
            return
        for claim in expired_claims(self.notifications, int(now.timestamp())):
            yield claim["orderId"], claim["leaseUntil"], claim["claimedAt"], claim["kind"]

    def booked(self, order_id: str) -> bool:
        """The ledger holds the order's sale (RecordAccounting ran: the order passed its commit point)."""
        return "Item" in self.ledger.get_item(Key=transaction_key(order_id, SALE), ConsistentRead=True)

    # -- executions --------------------------------------------------------------------------------
    def execution_arn(self, order_id: str) -> str:
        return executions.execution_arn(self.state_machine_arn, order_id)

    def execution(self, order_id: str) -> logic.Execution | None:
        try:
            described = self.stepfunctions.describe_execution(executionArn=self.execution_arn(order_id))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
                return None
            raise
        return logic.Execution(
            order_id=order_id,
            status=str(described["status"]),
            stopped=described.get("stopDate"),
            error=described.get("error"),
            redrive_count=int(described.get("redriveCount", 0)),
        )

    def failed_executions(self) -> Iterator[logic.Execution]:
        """Every FAILED execution (name, stop date, redrives): ListExecutions gives no error name."""
        paginator = self.stepfunctions.get_paginator("list_executions")
        for page in paginator.paginate(stateMachineArn=self.state_machine_arn, statusFilter="FAILED"):
            for item in page["executions"]:
                yield logic.Execution(
                    order_id=str(item["name"]),
                    status="FAILED",
                    stopped=item.get("stopDate"),
                    redrive_count=int(item.get("redriveCount", 0)),
                )

    def history(self, order_id: str) -> list[dict[str, Any]]:
        """The whole history, with data (state inputs, scheduled parameters)."""
        events: list[dict[str, Any]] = []
        paginator = self.stepfunctions.get_paginator("get_execution_history")
        for page in paginator.paginate(executionArn=self.execution_arn(order_id), includeExecutionData=True):
            events.extend(page["events"])
        return events

    def history_tail(self, order_id: str) -> list[dict[str, Any]]:
        """The history from the last state entered to the end: enough to say where the execution
        stopped, in one or two pages (reverseOrder) however long it ran. A service that ignores
        reverseOrder (moto does) answers from ExecutionStarted: then the whole history is read."""
        tail: list[dict[str, Any]] = []
        paginator = self.stepfunctions.get_paginator("get_execution_history")
        pages = paginator.paginate(
            executionArn=self.execution_arn(order_id), reverseOrder=True, includeExecutionData=False
        )
        for page in pages:
            events = page["events"]
            if not tail and events and events[0]["type"] == "ExecutionStarted" and len(events) > 1:
                return self.history(order_id)
            for event in events:
                tail.append(event)
                if "stateEnteredEventDetails" in event:
                    return tail[::-1]
        return tail[::-1]

    def redrive(self, order_id: str) -> None:
        self.stepfunctions.redrive_execution(executionArn=self.execution_arn(order_id))

    # -- re-running a step -------------------------------------------------------------------------
    def invoke(self, function: str, payload: Mapping[str, Any]) -> tuple[Any, str | None]:
        """(response payload, function error or None) of a synchronous invoke."""
        response = self.lambda_client.invoke(FunctionName=function, Payload=json.dumps(payload).encode())
        body = json.loads(response["Payload"].read() or b"null")
        return body, response.get("FunctionError")

    def send_message(self, parameters: Mapping[str, Any]) -> str:
        """SendMessage with the parameters the workflow scheduled (MessageBody as the ASL passed it)."""
        kwargs = dict(parameters)
        if not isinstance(kwargs.get("MessageBody"), str):
            kwargs["MessageBody"] = json.dumps(kwargs["MessageBody"])
        return str(self.sqs.send_message(**kwargs)["MessageId"])

    def put_events(self, parameters: Mapping[str, Any]) -> list[str]:
        entries = [
            {**entry, "Detail": entry["Detail"] if isinstance(entry["Detail"], str) else json.dumps(entry["Detail"])}
            for entry in parameters["Entries"]
        ]
        response = self.events.put_events(Entries=entries)
        if response.get("FailedEntryCount"):
            failed = [e for e in response["Entries"] if e.get("ErrorCode")]
            raise RuntimeError(f"EventBridge refused the event: {failed}")
        return [str(e["EventId"]) for e in response["Entries"]]

    # -- the repairs table: verdicts on failed executions, and repair records ----------------------
    @staticmethod
    def _key(order_id: str, sk: str) -> dict[str, str]:
        return {_PK: f"{_ORDER_PREFIX}{order_id}", _SK: sk}

    @staticmethod
    def _expiry(now: datetime) -> int:
        return int(now.timestamp()) + logic.REPAIR_RECORD_TTL_DAYS * 86_400

    def verdicts(self, executions: list[logic.Execution]) -> dict[str, str]:
        """{orderId: kind or ""} for the failed executions already examined (BatchGetItem)."""
        keys = [self._key(e.order_id, f"VERDICT#{e.redrive_count}") for e in executions]
        return {
            str(item[_PK]).removeprefix(_ORDER_PREFIX): str(item.get("kind", ""))
            for item in batch_get(self.repairs, keys)
        }

    def put_verdict(self, execution: logic.Execution, kind: str, now: datetime) -> None:
        self.repairs.put_item(
            Item={
                **self._key(execution.order_id, f"VERDICT#{execution.redrive_count}"),
                "kind": kind,
                "examinedAt": now.isoformat(),
                _TTL: self._expiry(now),
            }
        )

    def repair_record(self, order_id: str) -> dict[str, Any] | None:
        item = self.repairs.get_item(Key=self._key(order_id, "COMPENSATION"), ConsistentRead=True).get("Item")
        return dict(item) if item else None

    def claim_repair(self, order_id: str, by: str, now: datetime) -> bool:
        """Take the order's compensation repair: False when it is done, or another repair holds it."""
        try:
            self.repairs.update_item(
                Key=self._key(order_id, "COMPENSATION"),
                UpdateExpression="SET #s = :in_progress, leaseUntil = :lease, #by = :by, steps = "
                "if_not_exists(steps, :empty), #ttl = :expires",
                ConditionExpression=f"attribute_not_exists({_PK}) OR (#s <> :done AND leaseUntil < :now)",
                ExpressionAttributeNames={"#s": "status", "#by": "by", "#ttl": _TTL},
                ExpressionAttributeValues={
                    ":in_progress": IN_PROGRESS,
                    ":lease": int(now.timestamp()) + logic.REPAIR_LEASE_SECONDS,
                    ":by": by,
                    ":empty": {},
                    ":expires": self._expiry(now),
                    ":done": DONE,
                    ":now": int(now.timestamp()),
                },
            )
        except ClientError as error:
            if conditional_check_failed(error):
                return False
            raise
        return True

    def record_step(self, order_id: str, step: str, result: str) -> None:
        self.repairs.update_item(
            Key=self._key(order_id, "COMPENSATION"),
            UpdateExpression="SET steps.#step = :result",
            ExpressionAttributeNames={"#step": step},
            ExpressionAttributeValues={":result": result},
        )

    def finish_repair(self, order_id: str, done: bool, now: datetime) -> None:
        self.repairs.update_item(
            Key=self._key(order_id, "COMPENSATION"),
            UpdateExpression="SET #s = :status, leaseUntil = :zero, finishedAt = :now",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":status": DONE if done else PARTIAL, ":zero": 0, ":now": now.isoformat()},
        )
