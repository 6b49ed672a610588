"""ReserveStock: the serving warehouse holds every line or none, never oversells, and holds once per order."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from lambdas.reserve_stock import handler as reserve_handler
from lambdas.reserve_stock.logic import Warehouse, parse_warehouses, reserve, serving
from lambdas.shared import constants
from lambdas.shared.adapters import inventory
from lambdas.shared.errors import InvalidOrder, OrderError, OutOfStock, Undeliverable
from lambdas.shared.stock import HELD, RELEASED, SOLD, AlreadyHeld, Hold, Shortage
from tests.conftest import lambda_context
from tests.unit.reserve_stock_support import (
    WAREHOUSES,
    order,
    seed_inventory,
    serialized_dynamodb,
    total_units,
)

ROUTING = parse_warehouses(json.dumps(WAREHOUSES))
EU1, EU2, UK1 = ROUTING


def lines(*pairs: tuple[str, int]) -> list[dict[str, Any]]:
    return [{"sku": sku, "quantity": quantity} for sku, quantity in pairs]


class FakeStore:
    """In-memory stock with the adapter's contract: all lines or none, AlreadyHeld for a second hold."""

    def __init__(self, stock: Mapping[tuple[str, str], int], holds: Sequence[Hold] = ()) -> None:
        self.stock = dict(stock)
        self.holds = list(holds)
        self.attempts: list[str] = []

    def order_holds(self, order_id: str) -> list[Hold]:
        return [hold for hold in self.holds if hold.order_id == order_id]

    def hold_stock(self, order_id: str, warehouse_id: str, lines: Sequence[Mapping[str, Any]]) -> list[Shortage]:
        self.attempts.append(warehouse_id)
        if self.order_holds(order_id):
            raise AlreadyHeld(order_id)
        short = [
            Shortage(line["sku"], line["quantity"], self.stock.get((warehouse_id, line["sku"])))
            for line in lines
            if self.stock.get((warehouse_id, line["sku"]), 0) < line["quantity"]
        ]
        if not short:
            for line in lines:
                self.stock[warehouse_id, line["sku"]] -= line["quantity"]
                self.holds.append(Hold(order_id, line["sku"], warehouse_id, line["quantity"], HELD))
        return short


# ---------------------------------------------------------------------------
# Domain (no AWS)
# ---------------------------------------------------------------------------
def test_the_first_serving_warehouse_in_preference_order_is_used() -> None:
    store = FakeStore({("WH-EU-1", "MUG-BLUE"): 5, ("WH-EU-2", "MUG-BLUE"): 5})
    assert reserve(order(), [EU1, EU2, UK1], store) == {
        "warehouseId": "WH-EU-1",
        "queueUrl": EU1.queue_url,
        "lines": [{"sku": "MUG-BLUE", "quantity": 2}],
    }
    assert store.attempts == ["WH-EU-1"]
    assert serving([UK1, EU2, EU1], "DE") == [EU2, EU1]


def test_the_next_serving_warehouse_is_tried_when_one_cannot_hold_everything() -> None:
    store = FakeStore({("WH-EU-1", "MUG-BLUE"): 1, ("WH-UK-1", "MUG-BLUE"): 9, ("WH-EU-2", "MUG-BLUE"): 2})
    assert reserve(order(), [EU1, UK1, EU2], store)["warehouseId"] == "WH-EU-2"
    assert store.attempts == ["WH-EU-1", "WH-EU-2"]  # WH-UK-1 does not ship to DE


def test_out_of_stock_names_each_sku_and_what_each_warehouse_has() -> None:
    store = FakeStore({("WH-EU-1", "MUG-BLUE"): 1, ("WH-EU-1", "LAMP-ARC"): 5, ("WH-EU-2", "MUG-BLUE"): 7})
    with pytest.raises(OutOfStock) as raised:
        reserve(order(items=lines(("MUG-BLUE", 2), ("LAMP-ARC", 1))), [EU1, EU2], store)
    assert str(raised.value) == (
        "not enough stock for LAMP-ARC, MUG-BLUE; WH-EU-1: MUG-BLUE (2 requested, 1 available); "
        "WH-EU-2: LAMP-ARC (1 requested, not stocked here)"
    )
    assert type(raised.value).__name__ == constants.ERROR_OUT_OF_STOCK
    assert store.holds == []


def test_an_address_no_warehouse_serves_is_undeliverable_before_anything_is_tried() -> None:
    store = FakeStore({("WH-EU-1", "MUG-BLUE"): 5})
    order_jp = order(shippingAddress={**order()["shippingAddress"], "country": "JP"})
    with pytest.raises(Undeliverable, match=r"shippingAddress\.country: no warehouse ships to JP"):
        reserve(order_jp, [EU1, EU2, UK1], store)
    assert store.attempts == []


def test_a_retry_gets_the_existing_reservation_without_holding_again() -> None:
    held = [Hold("ord-1001", "TEE-M", "WH-EU-2", 1, HELD), Hold("ord-1001", "MUG-BLUE", "WH-EU-2", 2, HELD)]
    store = FakeStore({("WH-EU-1", "MUG-BLUE"): 5}, held)
    result = reserve(order(items=lines(("MUG-BLUE", 2), ("TEE-M", 1))), [EU1, EU2], store)
    assert result == {
        "warehouseId": "WH-EU-2",
        "queueUrl": EU2.queue_url,
        "lines": [{"sku": "MUG-BLUE", "quantity": 2}, {"sku": "TEE-M", "quantity": 1}],  # the order's sequence
    }
    assert store.attempts == []


def test_losing_the_race_to_a_concurrent_attempt_returns_the_winners_reservation() -> None:
    class RacedStore(FakeStore):
        def order_holds(self, order_id: str) -> list[Hold]:
            # The first read sees nothing; the winner's holds appear before our transaction.
            return super().order_holds(order_id) if self.attempts else []

    store = RacedStore({("WH-EU-1", "MUG-BLUE"): 5}, [Hold("ord-1001", "MUG-BLUE", "WH-EU-2", 2, HELD)])
    assert reserve(order(), [EU1, EU2], store)["warehouseId"] == "WH-EU-2"
    assert store.stock == {("WH-EU-1", "MUG-BLUE"): 5}


@pytest.mark.parametrize("status", [SOLD, RELEASED])
def test_an_order_id_whose_holds_were_settled_cannot_hold_again(status: str) -> None:
    store = FakeStore({("WH-EU-1", "MUG-BLUE"): 5}, [Hold("ord-1001", "MUG-BLUE", "WH-EU-1", 2, status)])
    with pytest.raises(InvalidOrder, match=f"orderId: order ord-1001 was already processed \\(stock {status}\\)"):
        reserve(order(), [EU1, EU2], store)
    assert store.stock == {("WH-EU-1", "MUG-BLUE"): 5}


def test_holds_at_a_warehouse_no_longer_configured_are_reported() -> None:
    store = FakeStore({}, [Hold("ord-1001", "MUG-BLUE", "WH-GONE", 2, HELD)])
    with pytest.raises(Undeliverable, match="held at WH-GONE"):
        reserve(order(), [EU1], store)


def test_warehouses_parse_from_the_stack_routing_json() -> None:
    assert parse_warehouses(json.dumps(WAREHOUSES))[1] == Warehouse(
        "WH-EU-2", frozenset({"DE", "AT"}), "https://sqs.eu-west-1.amazonaws.com/1/wh-eu-2.fifo"
    )


# ---------------------------------------------------------------------------
# The handler on moto: the real transaction and its conditions
# ---------------------------------------------------------------------------
@pytest.fixture
def stock(tables: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    seed_inventory(monkeypatch)


def reserve_order(**changes: Any) -> dict[str, Any]:
    return reserve_handler.handler({"order": order(**changes)}, lambda_context())


def test_handler_holds_the_lines_and_moves_the_units_to_held(stock: None) -> None:
    assert reserve_order() == {
        "warehouseId": "WH-EU-1",
        "queueUrl": WAREHOUSES[0]["queueUrl"],
        "lines": [{"sku": "MUG-BLUE", "quantity": 2}],
    }
    assert inventory.stock_levels("MUG-BLUE")["WH-EU-1"] == {"available": 48, "held": 2, "sold": 0}
    assert inventory.order_holds("ord-1001") == [Hold("ord-1001", "MUG-BLUE", "WH-EU-1", 2, HELD)]


def test_handler_holds_nothing_anywhere_when_no_warehouse_has_every_line(stock: None) -> None:
    # WH-EU-1 has the mugs but no T-shirts, WH-EU-2 the reverse: a split shipment is not an option.
    with pytest.raises(OutOfStock) as raised:
        reserve_order(items=lines(("MUG-BLUE", 2), ("TEE-M", 1)))
    assert "WH-EU-1: TEE-M (1 requested, not stocked here)" in str(raised.value)
    assert "WH-EU-2: MUG-BLUE (2 requested, not stocked here)" in str(raised.value)
    assert inventory.stock_levels("MUG-BLUE")["WH-EU-1"] == {"available": 50, "held": 0, "sold": 0}
    assert inventory.stock_levels("TEE-M")["WH-EU-2"] == {"available": 10, "held": 0, "sold": 0}
    assert inventory.order_holds("ord-1001") == []


def test_handler_falls_back_to_the_next_warehouse_for_the_last_units(stock: None) -> None:
    assert reserve_order(orderId="ord-1", items=lines(("LAMP-ARC", 3)))["warehouseId"] == "WH-EU-1"
    assert reserve_order(orderId="ord-2", items=lines(("LAMP-ARC", 1)))["warehouseId"] == "WH-EU-2"
    with pytest.raises(OutOfStock, match="LAMP-ARC"):
        reserve_order(orderId="ord-3", items=lines(("LAMP-ARC", 1)))
    levels = inventory.stock_levels("LAMP-ARC")
    assert levels["WH-EU-1"] == {"available": 0, "held": 3, "sold": 0}
    assert levels["WH-EU-2"] == {"available": 0, "held": 1, "sold": 0}


def test_handler_retry_returns_the_same_reservation_and_holds_once(stock: None) -> None:
    first = reserve_order()
    assert reserve_order() == first
    assert inventory.stock_levels("MUG-BLUE")["WH-EU-1"] == {"available": 48, "held": 2, "sold": 0}


def test_handler_raises_undeliverable_for_an_address_no_warehouse_serves(stock: None) -> None:
    with pytest.raises(Undeliverable) as raised:
        reserve_order(shippingAddress={**order()["shippingAddress"], "country": "US"})
    assert type(raised.value).__name__ == constants.ERROR_UNDELIVERABLE


# The races below run the domain with the real adapter on moto, not the handler: Lambda never runs two
# invocations in one process, and Powertools' Metrics singleton is not meant to be shared by threads.
def test_many_orders_racing_for_the_last_units_never_oversell(stock: None) -> None:
    """30 concurrent orders for 4 lamps (3 at WH-EU-1, 1 at WH-EU-2): exactly 4 win."""
    before = total_units("LAMP-ARC")

    def attempt(n: int) -> str:
        try:
            lamp = order(orderId=f"ord-race-{n}", items=lines(("LAMP-ARC", 1)))
            return reserve(lamp, ROUTING, inventory)["warehouseId"]
        except OrderError as error:
            return type(error).__name__

    with serialized_dynamodb(), ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(attempt, range(30)))

    assert sorted(o for o in outcomes if o.startswith("WH-")) == ["WH-EU-1", "WH-EU-1", "WH-EU-1", "WH-EU-2"]
    assert outcomes.count(constants.ERROR_OUT_OF_STOCK) == 26
    levels = inventory.stock_levels("LAMP-ARC")
    assert all(level["available"] >= 0 for level in levels.values())
    assert (levels["WH-EU-1"]["held"], levels["WH-EU-2"]["held"]) == (3, 1)
    assert total_units("LAMP-ARC") == before
    assert sum(len(inventory.order_holds(f"ord-race-{n}")) for n in range(30)) == 4


def test_concurrent_retries_of_one_order_hold_it_once(stock: None) -> None:
    with serialized_dynamodb(), ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: reserve(order(), ROUTING, inventory), range(8)))
    assert all(result == results[0] for result in results)
    assert inventory.stock_levels("MUG-BLUE")["WH-EU-1"] == {"available": 48, "held": 2, "sold": 0}
