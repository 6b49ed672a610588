"""Orders from a marketplace and a store through the deployed system: the connector publishes, the intake starts
the same workflow, nothing is charged, a store sale skips the warehouse, a redelivery changes nothing, and every
shipped order gets a delivery partner and a tracking e-mail (a reaction to a reaction)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from sandbox import demo, observe, scenarios
from sandbox.account import Sandbox
from sandbox.runner import OrderResult
from tests.e2e.conftest import BatchRun

pytestmark = pytest.mark.e2e

Outcome = list[tuple[scenarios.ChannelScenario, OrderResult]]


@pytest.fixture(scope="module")
def channel_run(sandbox: Sandbox, batch_run: BatchRun) -> Outcome:
    storefront = scenarios.Storefront(batch_run.catalog, demo.deployed_pricing(sandbox))
    return demo.run_channel_orders(sandbox, scenarios.channel_batch(storefront), demo.Progress(io.StringIO()))


def _one(outcome: Outcome, path: str) -> OrderResult:
    (result,) = [r for s, r in outcome if s.path == path]
    return result


def _payment(sandbox: Sandbox, order_id: str) -> dict[str, Any]:
    table = sandbox.resource("dynamodb").Table(sandbox.outputs["PaymentsTableName"])
    return dict(table.get_item(Key={"orderId": order_id})["Item"])


def test_a_marketplace_order_ships_and_is_paid_by_the_marketplace(sandbox: Sandbox, channel_run: Outcome) -> None:
    result = _one(channel_run, scenarios.MARKETPLACE_SHIPPED)
    assert result.status == "SUCCEEDED" and result.order_id == "ebuy-EB-7001"
    assert result.entered("NotifyWarehouse") and not result.entered("RefundPayment")
    payment = _payment(sandbox, "ebuy-EB-7001")
    assert (payment["status"], payment["chargeId"]) == ("PREPAID", "prepaid:EBPAY-7001")
    gateway = sandbox.resource("dynamodb").Table(sandbox.outputs["GatewayLedgerTableName"])
    assert not gateway.scan(
        FilterExpression="begins_with(idempotencyKey, :o)", ExpressionAttributeValues={":o": "ebuy-"}
    )["Items"]


def test_a_store_sale_is_booked_and_sold_without_a_warehouse_notice(sandbox: Sandbox, channel_run: Outcome) -> None:
    result = _one(channel_run, scenarios.STORE_HANDED_OVER)
    assert result.status == "SUCCEEDED"
    assert not result.entered("NotifyWarehouse")
    assert result.entered("RecordAccounting") and result.entered("PublishOrderCompleted")
    holds = (
        sandbox.resource("dynamodb")
        .Table(sandbox.outputs["InventoryTableName"])
        .query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": "ORDER#city_store-R-0042"})["Items"]
    )
    assert holds and {h["status"] for h in holds} == {"SOLD"}
    assert "city_store-R-0042" not in demo.shipped_orders(sandbox)


def test_a_redelivery_changes_nothing(sandbox: Sandbox, channel_run: Outcome) -> None:
    first = _one(channel_run, scenarios.MARKETPLACE_SHIPPED)
    again = _one(channel_run, scenarios.MARKETPLACE_REDELIVERY)
    assert again.execution_arn == first.execution_arn
    runner = sandbox.runner()
    names = [
        e["name"]
        for page in sandbox.client("stepfunctions")
        .get_paginator("list_executions")
        .paginate(stateMachineArn=runner.state_machine_arn)
        for e in page["executions"]
    ]
    assert names.count("ebuy-EB-7001") == 1
    assert observe.events_seen(sandbox, "marketplace_intake")["MarketplaceOrderReceived"] == 3
    mails = [m for m in observe.emails(sandbox) if "ebuy-EB-7001" in m.subject]
    assert len(mails) == 2  # one confirmation, one tracking e-mail


def test_every_shipped_order_has_a_carrier_and_a_tracking_email(
    sandbox: Sandbox, batch_run: BatchRun, channel_run: Outcome
) -> None:
    shipped = demo.shipped_orders(sandbox)
    succeeded = {r.result.order_id for r in batch_run.runs if r.result.status == "SUCCEEDED"}
    assert succeeded | {"ebuy-EB-7001"} <= set(shipped)  # other tests of this package ship orders too
    tracking = {m.subject for m in observe.emails(sandbox) if " ships with " in m.subject}
    for order_id, shipment in shipped.items():
        assert f"Your order {order_id} ships with {shipment['carrier']}: {shipment['trackingNumber']}" in tracking
    assert shipped["ebuy-EB-7001"]["carrier"] == "DPD"  # eBuy promises 3 days: Hermes (4) does not serve FR anyway
    assert demo.channel_problems(sandbox, channel_run) == []
    ours = succeeded | {"ebuy-EB-7001"}
    assert not _dead_lettered_orders(sandbox) & ours  # other tests of this package dead-letter on purpose


def _dead_lettered_orders(sandbox: Sandbox) -> set[str]:
    """Order ids of the events waiting in any subscriber's dead-letter queue (read, not removed)."""
    sqs = sandbox.client("sqs")
    found: set[str] = set()
    for key, url in sandbox.outputs.items():
        if not key.endswith("SubscriberDeadLetterQueueUrl"):
            continue
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
            "Messages", []
        ):
            body = json.loads(message["Body"])
            event = body.get("requestPayload", body)  # Lambda's on-failure record, or EventBridge's own dead letter
            correlation = (event.get("detail") or {}).get("metadata", {}).get("correlationId")
            if isinstance(correlation, str):
                found.add(correlation)
    return found
