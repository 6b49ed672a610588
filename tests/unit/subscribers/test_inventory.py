"""Inventory: OrderCompleted turns holds into sales once; low cover publishes ReorderSuggested once."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from lambdas.shared import constants
from lambdas.shared.adapters import inventory
from lambdas.shared.adapters.event_bus import EventBus
from lambdas.subscribers.inventory import handler as inventory_handler
from lambdas.subscribers.inventory import store as forecast
from lambdas.subscribers.inventory.logic import daily_velocity, reorder_suggestion, window_start
from tests.contract.samples import line, order_completed
from tests.contract.test_event_schemas import assert_valid
from tests.unit.subscribers.conftest import all_items, deliver, deliver_async, fail_once

WAREHOUSE = "WH-EU-1"
CATALOG = {
    "products": [
        {"sku": "MUG-BLUE", "name": "Mug", "priceCents": 1000, "leadTimeDays": 14, "stock": {WAREHOUSE: 50}},
        {"sku": "LAMP-ARC", "name": "Lamp", "priceCents": 14900, "leadTimeDays": 45, "stock": {WAREHOUSE: 5}},
    ]
}


@pytest.fixture
def published(tables: Any, subscriber_table: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The inventory with stock, the order bus, and a queue receiving what the bus gets."""
    inventory.seed(CATALOG)
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name="orders")
    monkeypatch.setenv(constants.ENV_EVENT_BUS, "orders")
    queue_url = sqs.create_queue(QueueName="published")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="everything", EventBusName="orders", EventPattern=json.dumps({"source": [{"prefix": ""}]}))
    events.put_targets(Rule="everything", EventBusName="orders", Targets=[{"Id": "q", "Arn": queue_arn}])

    def receive() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        for m in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        return [json.loads(m["Body"]) for m in messages]

    return receive


def complete(order_id: str, sku: str, quantity: int, day: str = "2026-11-20") -> dict[str, Any]:
    """Hold the stock as ReserveStock does, and return the OrderCompleted the workflow then publishes."""
    assert inventory.hold_stock(order_id, WAREHOUSE, [{"sku": sku, "quantity": quantity}]) == []
    return order_completed(order_id, [line(sku, quantity)], warehouse_id=WAREHOUSE, occurred_at=f"{day}T09:00:00.000Z")


def test_the_hold_becomes_a_sale(published: Any) -> None:
    deliver(inventory_handler.handler, complete("o-1", "MUG-BLUE", 2))
    assert inventory.stock_levels("MUG-BLUE")[WAREHOUSE] == {"available": 48, "held": 0, "sold": 2}
    (hold,) = inventory.order_holds("o-1")
    assert hold.status == inventory.SOLD
    assert published() == []  # 48 units last far longer than the 14-day lead time


def test_redelivery_and_replay_change_nothing(published: Any, subscriber_table: Any) -> None:
    event = complete("o-1", "LAMP-ARC", 4)
    first = deliver(inventory_handler.handler, event)
    assert len(first["suggestions"]) == 1
    items_after_first = all_items(subscriber_table)
    for again in (event, {**event, "id": "replayed", "replay-name": "backfill"}):
        assert deliver(inventory_handler.handler, again) == {"orderId": "o-1", "sold": [], "suggestions": []}
    assert inventory.stock_levels("LAMP-ARC")[WAREHOUSE] == {"available": 1, "held": 0, "sold": 4}
    assert all_items(subscriber_table) == items_after_first
    assert len(published()) == 1


def test_low_cover_publishes_a_reorder_suggestion_matching_its_schema(published: Any) -> None:
    deliver(inventory_handler.handler, complete("o-1", "LAMP-ARC", 4))
    (event,) = published()
    assert event["detail-type"] == constants.EVENT_REORDER_SUGGESTED
    assert_valid(event)
    assert event["detail"]["metadata"]["producer"] == constants.INVENTORY_PRODUCER
    assert event["detail"]["metadata"]["correlationId"] == "o-1"
    # 4 units in 28 days; 1 left covers 7 days < 45 days lead time; order for 45 + 30 days, minus the 1.
    assert event["detail"]["data"] == {
        "suggestionId": "LAMP-ARC:WH-EU-1:2026-11-20",
        "sku": "LAMP-ARC",
        "warehouseId": WAREHOUSE,
        "available": 1,
        "dailyVelocity": 0.143,
        "coverDays": 7.0,
        "leadTimeDays": 45,
        "suggestedQuantity": 10,
    }


def test_one_suggestion_per_sku_warehouse_and_day(published: Any) -> None:
    deliver(inventory_handler.handler, complete("o-1", "LAMP-ARC", 2, day="2026-11-20"))
    deliver(inventory_handler.handler, complete("o-2", "LAMP-ARC", 1, day="2026-11-20"))
    deliver(inventory_handler.handler, complete("o-3", "LAMP-ARC", 1, day="2026-11-21"))
    assert [e["detail"]["data"]["suggestionId"] for e in published()] == [
        "LAMP-ARC:WH-EU-1:2026-11-20",
        "LAMP-ARC:WH-EU-1:2026-11-21",
    ]


def test_a_delivery_that_failed_to_publish_is_finished_by_its_retry(
    published: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = complete("o-1", "LAMP-ARC", 4)
    real_publish, outage = EventBus.publish, [True]

    def flaky(bus: EventBus, *args: Any) -> None:
        if outage.pop():
            raise ConnectionError("EventBridge unavailable")
        real_publish(bus, *args)

    monkeypatch.setattr(EventBus, "publish", flaky)
    with pytest.raises(ConnectionError):
        deliver(inventory_handler.handler, event)

    outage.append(False)  # the retry finds EventBridge back
    assert len(deliver(inventory_handler.handler, event)["suggestions"]) == 1
    assert deliver(inventory_handler.handler, event)["suggestions"] == []
    assert len(published()) == 1
    assert inventory.stock_levels("LAMP-ARC")[WAREHOUSE]["sold"] == 4


def test_velocity_is_over_the_trailing_window() -> None:
    assert window_start("2026-11-20", 28) == "2026-10-24"
    assert daily_velocity({"2026-11-01": 14, "2026-11-20": 14}, 28) == 1.0


@pytest.mark.parametrize(
    ("available", "velocity", "lead", "expected"),
    [
        (100, 0.0, 14, None),  # nothing sells: no cover problem
        (14, 1.0, 14, None),  # exactly the lead time: still arrives in time
        (13, 1.0, 14, 31),  # 1 x (14 + 30) - 13
        (0, 2.5, 7, 93),  # ceil(2.5 x 37)
        (-2, 1.0, 7, 37),  # oversold counts as empty
    ],
)
def test_reorder_only_when_cover_is_below_lead_time(
    available: int, velocity: float, lead: int, expected: int | None
) -> None:
    suggestion = reorder_suggestion("SKU", "WH", "2026-11-20", available, velocity, lead, target_cover_days=30)
    assert (suggestion and suggestion["suggestedQuantity"]) == expected


@pytest.mark.parametrize(
    ("module", "name"),
    [
        (forecast, "record_sales"),  # before the order's marker
        (forecast, "daily_units"),  # after the marker (RECORDED), before the reorder check
        (forecast, "claim_suggestion"),
        (forecast, "mark_done"),  # after the suggestion went out
    ],
)
def test_a_run_that_fails_anywhere_is_retried_to_one_sale_and_one_suggestion(
    published: Any, subscriber_table: Any, monkeypatch: pytest.MonkeyPatch, module: Any, name: str
) -> None:
    event = complete("o-1", "LAMP-ARC", 4)
    fail_once(monkeypatch, module, name)
    outcome = deliver_async(inventory_handler.handler, event)
    assert outcome.error_names == ["Crash"] and outcome.succeeded
    assert inventory.stock_levels("LAMP-ARC")[WAREHOUSE] == {"available": 1, "held": 0, "sold": 4}
    assert [e["detail"]["data"]["suggestionId"] for e in published()] == ["LAMP-ARC:WH-EU-1:2026-11-20"]
    sales = {i["pk"]: int(i["units"]) for i in all_items(subscriber_table) if i["pk"].startswith("SALES#")}
    assert sales == {"SALES#LAMP-ARC#WH-EU-1": 4}
    assert forecast.is_done(subscriber_table, "o-1")
    assert deliver(inventory_handler.handler, event)["suggestions"] == []  # a later replay: nothing
    assert published() == []
