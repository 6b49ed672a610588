"""ReleaseStock (compensation) and sell_held_stock (OrderCompleted): each HELD unit settles exactly once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from lambdas.release_stock import handler as release_handler
from lambdas.release_stock.logic import release
from lambdas.reserve_stock import handler as reserve_handler
from lambdas.shared import constants
from lambdas.shared.adapters import inventory
from lambdas.shared.stock import HELD, RELEASED, SOLD
from tests.conftest import lambda_context
from tests.unit.reserve_stock_support import order, seed_inventory, serialized_dynamodb, total_units

TWO_LINES = [{"sku": "MUG-BLUE", "quantity": 2}, {"sku": "LAMP-ARC", "quantity": 3}]


@pytest.fixture
def held(tables: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """ord-1001 holds 2 mugs and 3 lamps at WH-EU-1 (through the real ReserveStock handler)."""
    seed_inventory(monkeypatch)
    reserve_handler.handler({"order": order(items=TWO_LINES)}, lambda_context())


def release_order(order_id: str = "ord-1001") -> dict[str, Any]:
    return release_handler.handler({"orderId": order_id}, lambda_context())


def levels(sku: str) -> dict[str, int]:
    return inventory.stock_levels(sku)["WH-EU-1"]


def statuses(order_id: str = "ord-1001") -> set[str]:
    return {hold.status for hold in inventory.order_holds(order_id)}


def test_release_returns_every_held_unit_to_available(held: None) -> None:
    assert release_order() == {
        "releasedLines": [
            {"sku": "LAMP-ARC", "warehouseId": "WH-EU-1", "quantity": 3},
            {"sku": "MUG-BLUE", "warehouseId": "WH-EU-1", "quantity": 2},
        ]
    }
    assert levels("MUG-BLUE") == {"available": 50, "held": 0, "sold": 0}
    assert levels("LAMP-ARC") == {"available": 3, "held": 0, "sold": 0}
    assert statuses() == {RELEASED}


def test_releasing_twice_releases_once(held: None) -> None:
    release_order()
    assert release_order() == {"releasedLines": []}
    assert levels("MUG-BLUE") == {"available": 50, "held": 0, "sold": 0}


def test_an_order_that_never_held_anything_releases_nothing(held: None) -> None:
    assert release_order("ord-never-held") == {"releasedLines": []}
    assert levels("MUG-BLUE") == {"available": 48, "held": 2, "sold": 0}


def test_release_never_touches_sold_units(held: None) -> None:
    assert len(inventory.sell_held_stock("ord-1001")) == 2
    assert release_order() == {"releasedLines": []}
    assert levels("LAMP-ARC") == {"available": 0, "held": 0, "sold": 3}
    assert statuses() == {SOLD}


def test_release_only_releases_what_another_order_does_not_hold(held: None) -> None:
    reserve_handler.handler({"order": order(orderId="ord-other")}, lambda_context())
    release_order()
    assert levels("MUG-BLUE") == {"available": 48, "held": 2, "sold": 0}
    assert statuses("ord-other") == {HELD}


def test_selling_held_stock_is_idempotent_under_redelivery(held: None) -> None:
    sold = inventory.sell_held_stock("ord-1001")
    assert sorted(line["sku"] for line in sold) == ["LAMP-ARC", "MUG-BLUE"]
    assert inventory.sell_held_stock("ord-1001") == []
    assert levels("MUG-BLUE") == {"available": 48, "held": 0, "sold": 2}
    # A released order has nothing left to sell.
    assert inventory.sell_held_stock("ord-never-held") == []


def test_racing_release_and_sale_settle_each_hold_exactly_once(held: None) -> None:
    before = {sku: total_units(sku) for sku in ("MUG-BLUE", "LAMP-ARC")}
    calls = [inventory.release_holds, inventory.sell_held_stock] * 6
    with serialized_dynamodb(), ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda call: call("ord-1001"), calls))
    settled = sorted(line["sku"] for result in results for line in result)
    assert settled == ["LAMP-ARC", "MUG-BLUE"]
    outcome = {hold.sku: hold.status for hold in inventory.order_holds("ord-1001")}
    for sku, quantity, available_before in (("MUG-BLUE", 2, 48), ("LAMP-ARC", 3, 0)):
        assert outcome[sku] in (SOLD, RELEASED)
        assert levels(sku) == {
            "available": available_before + (quantity if outcome[sku] == RELEASED else 0),
            "held": 0,
            "sold": quantity if outcome[sku] == SOLD else 0,
        }
        assert total_units(sku) == before[sku]


def test_a_hand_edited_stock_item_fails_the_release_loudly_instead_of_going_negative(held: None, tables: Any) -> None:
    tables[constants.ENV_INVENTORY_TABLE].update_item(
        Key={"pk": "PRODUCT#LAMP-ARC", "sk": "STOCK#WH-EU-1"},
        UpdateExpression="SET held = :one",
        ExpressionAttributeValues={":one": 1},
    )
    with pytest.raises(inventory.StockInvariantBroken, match="LAMP-ARC at WH-EU-1"):
        release_order()
    assert levels("LAMP-ARC")["held"] == 1


def test_release_needs_an_order_id() -> None:
    with pytest.raises(ValueError, match="orderId"):
        release({}, lambda order_id: [])


def test_seeding_again_restocks_without_losing_held_units(held: None) -> None:
    inventory.seed(
        {
            "products": [
                {"sku": "MUG-BLUE", "name": "Mug", "priceCents": 1002, "leadTimeDays": 14, "stock": {"WH-EU-1": 100}}
            ]
        }
    )
    assert levels("MUG-BLUE") == {"available": 100, "held": 2, "sold": 0}
    release_order()
    assert levels("MUG-BLUE") == {"available": 102, "held": 0, "sold": 0}
