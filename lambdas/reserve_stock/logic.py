"""ReserveStock's domain: which warehouses may ship an order, and holding its lines in one of them.

The store (``lambdas.shared.adapters.inventory`` in production, a fake in unit tests) holds all
lines in one warehouse atomically or reports its shortages, so this module only decides the order
in which warehouses are tried and what an outcome means.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from lambdas.shared.errors import InvalidOrder, OutOfStock, Undeliverable
from lambdas.shared.stock import HELD, AlreadyHeld, Hold, Shortage


class Warehouse(NamedTuple):
    id: str
    countries: frozenset[str]
    queue_url: str


class StockStore(Protocol):
    def order_holds(self, order_id: str) -> list[Hold]: ...

    def hold_stock(self, order_id: str, warehouse_id: str, lines: Sequence[Mapping[str, Any]]) -> list[Shortage]: ...


def parse_warehouses(text: str) -> list[Warehouse]:
    """WAREHOUSES_JSON: [{id, countries, queueUrl}] in preference order (the stack writes it)."""
    return [
        Warehouse(id=str(w["id"]), countries=frozenset(map(str, w["countries"])), queue_url=str(w["queueUrl"]))
        for w in json.loads(text)
    ]


def serving(warehouses: Sequence[Warehouse], country: str) -> list[Warehouse]:
    """The warehouses that ship to ``country``, in preference order; ``Undeliverable`` when none does."""
    candidates = [w for w in warehouses if country in w.countries]
    if not candidates:
        raise Undeliverable(f"shippingAddress.country: no warehouse ships to {country}")
    return candidates


def reserve(order: Mapping[str, Any], warehouses: Sequence[Warehouse], store: StockStore) -> dict[str, Any]:
    """{warehouseId, queueUrl, lines} for the first serving warehouse that can hold every line.

    Idempotent: a retry (e.g. after a task timeout whose transaction did commit) gets the existing
    reservation back instead of holding twice.
    """
    order_id = order["orderId"]
    lines = [{"sku": line["sku"], "quantity": line["quantity"]} for line in order["items"]]
    existing = store.order_holds(order_id)
    if existing:
        return _existing(order_id, existing, lines, warehouses)
    shortages: dict[str, list[Shortage]] = {}
    for warehouse in serving(warehouses, order["shippingAddress"]["country"]):
        try:
            missing = store.hold_stock(order_id, warehouse.id, lines)
        except AlreadyHeld:
            # A concurrent attempt for the same order won the race: its reservation is ours.
            return _existing(order_id, store.order_holds(order_id), lines, warehouses)
        if not missing:
            return {"warehouseId": warehouse.id, "queueUrl": warehouse.queue_url, "lines": lines}
        shortages[warehouse.id] = missing
    raise OutOfStock(_out_of_stock_message(shortages))


def _existing(
    order_id: str, holds: Sequence[Hold], lines: Sequence[Mapping[str, Any]], warehouses: Sequence[Warehouse]
) -> dict[str, Any]:
    held = [hold for hold in holds if hold.status == HELD]
    if not held:
        # Its holds were sold (order completed) or released (order failed): the id was used before.
        statuses = sorted({hold.status for hold in holds})
        raise InvalidOrder(f"orderId: order {order_id} was already processed (stock {'/'.join(statuses)})")
    warehouse_id = held[0].warehouse_id
    queue_url = next((w.queue_url for w in warehouses if w.id == warehouse_id), None)
    if queue_url is None:
        raise Undeliverable(f"order {order_id} is held at {warehouse_id}, which is no longer configured")
    # Report the lines in the order's own sequence, as a first attempt would.
    position = {line["sku"]: index for index, line in enumerate(lines)}
    held.sort(key=lambda hold: (position.get(hold.sku, len(position)), hold.sku))
    return {
        "warehouseId": warehouse_id,
        "queueUrl": queue_url,
        "lines": [{"sku": hold.sku, "quantity": hold.quantity} for hold in held],
    }


def _out_of_stock_message(shortages: Mapping[str, Sequence[Shortage]]) -> str:
    """Names every SKU short, per warehouse tried: "WH-EU-1: LAMP-ARC (5 requested, 3 available)"."""
    parts = []
    for warehouse_id, missing in shortages.items():
        described = ", ".join(
            f"{s.sku} ({s.requested} requested, "
            + ("not stocked here" if s.available is None else f"{s.available} available")
            + ")"
            for s in missing
        )
        parts.append(f"{warehouse_id}: {described}")
    skus = sorted({s.sku for missing in shortages.values() for s in missing})
    return f"not enough stock for {', '.join(skus)}; " + "; ".join(parts)
