"""The sweeper's adapters on moto: the scans find exactly the intermediate items; the repair record
lets one repair at a time through and none after it is done."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from lambdas.shared import constants
from lambdas.shared.adapters import inventory
from lambdas.sweeper import logic
from lambdas.sweeper.adapters import SweeperAws
from tests.conftest import create_table

NOW = datetime.now(UTC)


@pytest.fixture
def aws_(tables: dict[str, Any]) -> SweeperAws:
    return SweeperAws(
        stepfunctions=boto3.client("stepfunctions"),
        lambda_client=boto3.client("lambda"),
        sqs=boto3.client("sqs"),
        events=boto3.client("events"),
        payments=tables[constants.ENV_PAYMENTS_TABLE],
        inventory=tables[constants.ENV_INVENTORY_TABLE],
        ledger=tables[constants.ENV_LEDGER_TABLE],
        repairs=create_table("test-repairs", constants.SUBSCRIBER_TABLE_KEYS),
        notifications=create_table("test-notifications", constants.SUBSCRIBER_TABLE_KEYS),
        state_machine_arn="arn:aws:states:eu-west-1:123456789012:stateMachine:orders",
        functions={},
    )


def test_scans_find_only_the_intermediate_items(aws_: SweeperAws) -> None:
    for order_id, status in (("o-1", "CHARGING"), ("o-2", "REVIEW_PENDING"), ("o-3", "APPROVED"), ("o-4", "VOIDED")):
        aws_.payments.put_item(Item={"orderId": order_id, "status": status, "createdAt": "2026-11-26T10:00:00Z"})
    assert sorted((o, s) for o, s, _ in aws_.stuck_payments()) == [("o-1", "CHARGING"), ("o-2", "REVIEW_PENDING")]

    table_name = aws_.inventory.name
    inventory.seed({"products": [{"sku": "MUG", "name": "Mug", "priceCents": 100, "leadTimeDays": 1,
                                  "stock": {"WH-1": 10}}]}, table_name=table_name)  # fmt: skip
    for order_id in ("o-5", "o-6"):
        assert inventory.hold_stock(order_id, "WH-1", [{"sku": "MUG", "quantity": 1}], table_name=table_name) == []
    inventory.release_holds("o-6", table_name=table_name)
    assert [order for order, _ in aws_.held_holds()] == ["o-5"]
    assert aws_.held_lines("o-5") == 1 and aws_.held_lines("o-6") == 0

    now = int(NOW.timestamp())
    claims = {
        "o-7": {"status": "SENDING", "leaseUntil": now - 1, "claimedAt": now - 301},  # lease passed
        "o-8": {"status": "SENDING", "leaseUntil": now + 200},  # being sent
        "o-9": {"status": "SENT", "leaseUntil": now - 1000},
        "o-10": {"status": "SENDING", "leaseUntil": 0, "claimedAt": now - 20},  # released by its run
    }
    assert aws_.notifications is not None
    for order_id, claim in claims.items():
        aws_.notifications.put_item(Item={"pk": f"ORDER#{order_id}", "sk": "CONFIRMATION", **claim})
    # The tracking e-mail's claims (on ShipmentAssigned) are swept the same way.
    aws_.notifications.put_item(Item={"pk": "ORDER#o-7", "sk": "TRACKING", "status": "SENDING", "leaseUntil": 0})
    aws_.notifications.put_item(Item={"pk": "ORDER#o-8", "sk": "TRACKING", "status": "SENT", "leaseUntil": 0})
    assert sorted(aws_.expired_claims(NOW)) == [
        ("o-10", 0, now - 20, ""),
        ("o-7", 0, 0, "TRACKING"),
        ("o-7", now - 1, now - 301, ""),
    ]


def test_a_repair_record_admits_one_repair_at_a_time_and_none_once_done(aws_: SweeperAws) -> None:
    assert aws_.repair_record("o-1") is None
    assert aws_.claim_repair("o-1", "sweeper", NOW)
    assert not aws_.claim_repair("o-1", "orderctl:alice", NOW)  # the lease is live
    aws_.record_step("o-1", "refundPayment", "RefundPayment: payment REFUNDED")
    aws_.finish_repair("o-1", done=False, now=NOW)
    assert aws_.claim_repair("o-1", "orderctl:alice", NOW)  # partial: the next repair may go on
    record = aws_.repair_record("o-1")
    assert record is not None and record["steps"] == {"refundPayment": "RefundPayment: payment REFUNDED"}
    aws_.finish_repair("o-1", done=True, now=NOW)
    later = NOW + timedelta(seconds=logic.REPAIR_LEASE_SECONDS + 1)
    assert not aws_.claim_repair("o-1", "sweeper", later)
    assert aws_.repair_record("o-1")["status"] == "DONE"  # type: ignore[index]


def test_verdicts_are_kept_per_execution_and_redrive(aws_: SweeperAws) -> None:
    first = logic.Execution("o-1", "FAILED", NOW, redrive_count=0)
    redriven = logic.Execution("o-1", "FAILED", NOW, redrive_count=1)
    other = logic.Execution("o-2", "FAILED", NOW)
    aws_.put_verdict(first, str(logic.Kind.STALLED_AFTER_COMMIT), NOW)
    aws_.put_verdict(other, "", NOW)
    assert aws_.verdicts([first, other]) == {"o-1": "stalled-after-commit", "o-2": ""}
    assert aws_.verdicts([redriven]) == {}


def test_an_order_is_booked_once_its_sale_is_in_the_ledger(aws_: SweeperAws) -> None:
    assert not aws_.booked("o-1")
    aws_.ledger.put_item(Item={"pk": "ORDER#o-1", "sk": "TXN#SALE", "transactionId": "t-1"})
    assert aws_.booked("o-1")
