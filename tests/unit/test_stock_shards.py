"""Sharded stock (docs/HOT-PRODUCT.md): holds spread over a SKU-warehouse's shards, never oversell,
settle on the shards they came from, and a sold-out product is turned away without a write."""

from __future__ import annotations

import itertools
import os
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambdas.shared import constants, stock
from lambdas.shared.adapters import inventory
from lambdas.shared.stock import HELD, RELEASED, SOLD, AlreadyHeld, Shortage

WAREHOUSE = "WH-EU-1"
_examples = itertools.count()


def product(sku: str, units: int, shards: int | None) -> dict[str, Any]:
    return {
        "sku": sku,
        "name": sku.title(),
        "priceCents": 100,
        "leadTimeDays": 1,
        **({"stockShards": shards} if shards is not None else {}),
        "stock": {WAREHOUSE: units},
    }


def raw(key: dict[str, str]) -> dict[str, Any]:
    return dict(
        inventory.table(os.environ[constants.ENV_INVENTORY_TABLE]).get_item(Key=key, ConsistentRead=True)["Item"]
    )


def shard_items(sku: str) -> list[dict[str, int]]:
    """Every shard's raw counters, in shard order (what the conditions act on)."""
    count = int(raw(inventory.stock_key(sku, WAREHOUSE, 0)).get("shards", 1))
    items = [raw(inventory.stock_key(sku, WAREHOUSE, n)) for n in range(count)]
    return [{name: int(item.get(name, 0)) for name in ("available", "held", "sold")} for item in items]


def held_per_shard(sku: str, order_ids: list[str]) -> list[int]:
    """Units the HELD holds of these orders took from each shard, by their own record."""
    held = [0] * len(shard_items(sku))
    for order_id in order_ids:
        hold = raw({"pk": inventory.order_pk(order_id), "sk": inventory.hold_sk(sku)})
        for shard, units in hold["shards"].items():
            held[int(shard)] += int(units)
    return held


# ---------------------------------------------------------------------------
# Pure planning and the figure
# ---------------------------------------------------------------------------
@given(
    order_id=st.text(min_size=1, max_size=10),
    quantity=st.integers(1, 30),
    available=st.lists(st.integers(0, 12), min_size=1, max_size=8),
    max_parts=st.integers(1, 8),
)
def test_a_plan_takes_exactly_the_quantity_from_shards_that_have_it(
    order_id: str, quantity: int, available: list[int], max_parts: int
) -> None:
    parts = stock.plan(order_id, quantity, available, max_parts)
    if parts is None:
        fullest = sorted(available, reverse=True)[:max_parts]
        assert sum(fullest) < quantity
        return
    assert sum(parts.values()) == quantity
    assert len(parts) <= max_parts
    assert all(0 < units <= available[shard] for shard, units in parts.items())


def test_an_order_takes_from_its_own_shard_when_it_can_so_orders_spread_over_shards() -> None:
    shards = 8
    firsts = Counter(next(iter(stock.plan(f"ord-{n}", 1, [10] * shards, 1) or {})) for n in range(800))
    assert set(firsts) == set(range(shards))
    assert max(firsts.values()) < 2 * 800 / shards


def test_the_figure_before_and_after() -> None:
    assert stock.holds_per_second_unsharded() == 500
    assert stock.holds_per_second(1) == 500
    assert stock.holds_per_second(8) == 4000
    # Every hold reads each shard once: past 12 shards the partition's reads bind, not its writes.
    assert stock.holds_per_second(32) == stock.holds_per_second(12) == 6000
    assert stock.sold_out_rejections_per_second() == 2000
    assert stock.holds_per_second(8, item_kb=2) == 2000
    # With today's catalog reads on shard 0's partition, reads bind at 3000 / 3.5 RCU per order.
    assert round(stock.holds_per_second(8, head_rcu_per_order=stock.HEAD_RCU_PER_ORDER)) == 857


@pytest.mark.parametrize("bad", [0, -1, 33, 2.5, True, "4"])
def test_a_bad_shard_count_is_named(bad: object) -> None:
    with pytest.raises(ValueError, match="stockShards: must be an integer from 1 to 32"):
        stock.shard_count(bad)


# ---------------------------------------------------------------------------
# Against the table (moto)
# ---------------------------------------------------------------------------
def test_seed_spreads_stock_over_shards_and_levels_sum_them(tables: dict[str, Any]) -> None:
    inventory.seed({"products": [product("HOT", 10, 4)]})
    assert [item["available"] for item in shard_items("HOT")] == [3, 3, 2, 2]
    assert inventory.stock_levels("HOT") == {WAREHOUSE: {"available": 10, "held": 0, "sold": 0}}
    scanned = inventory.table(os.environ[constants.ENV_INVENTORY_TABLE]).scan()["Items"]
    assert inventory.stock_totals(scanned)[("HOT", WAREHOUSE)] == {"available": 10, "held": 0, "sold": 0}


def test_seed_never_lowers_the_shard_count(tables: dict[str, Any]) -> None:
    inventory.seed({"products": [product("HOT", 10, 4)]})
    with pytest.raises(ValueError, match="stockShards: HOT at WH-EU-1 has 4 shards, cannot lower to 2"):
        inventory.seed({"products": [product("HOT", 10, 2)]})


def test_a_line_bigger_than_any_shard_spreads_and_settles_back_where_it_came_from(tables: dict[str, Any]) -> None:
    inventory.seed({"products": [product("HOT", 8, 4)]})
    assert inventory.hold_stock("ord-big", WAREHOUSE, [{"sku": "HOT", "quantity": 5}]) == []
    held = [item["held"] for item in shard_items("HOT")]
    assert sum(held) == 5 and max(held) == 2
    assert inventory.release_holds("ord-big") == [{"sku": "HOT", "warehouseId": WAREHOUSE, "quantity": 5}]
    assert shard_items("HOT") == [{"available": 2, "held": 0, "sold": 0}] * 4


def test_a_sold_out_product_is_turned_away_without_a_write(
    tables: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    inventory.seed({"products": [product("HOT", 0, 4)]})
    writes: list[Any] = []
    real = inventory.transact
    monkeypatch.setattr(inventory, "transact", lambda *args: writes.append(args) or real(*args))
    shortage = inventory.hold_stock("ord-late", WAREHOUSE, [{"sku": "HOT", "quantity": 1}])
    assert shortage == [Shortage("HOT", 1, 0)]
    assert writes == []
    assert inventory.order_holds("ord-late") == []


def test_a_retried_hold_holds_once_even_when_it_took_the_last_units(tables: dict[str, Any]) -> None:
    inventory.seed({"products": [product("HOT", 2, 3)]})
    assert inventory.hold_stock("ord-1", WAREHOUSE, [{"sku": "HOT", "quantity": 2}]) == []
    # The shards are now empty: the retry must say "already held", not "out of stock" (which would let
    # ReserveStock try the next warehouse and hold the order twice).
    with pytest.raises(AlreadyHeld):
        inventory.hold_stock("ord-1", WAREHOUSE, [{"sku": "HOT", "quantity": 2}])
    assert inventory.stock_levels("HOT")[WAREHOUSE] == {"available": 0, "held": 2, "sold": 0}


# One step of a random history: hold an order (lines of HOT and/or COLD), release it, or sell it.
STEP = st.tuples(
    st.sampled_from(["hold", "hold", "release", "sell"]),
    st.integers(0, 5),
    st.integers(0, 6),
    st.integers(0, 6),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    hot_units=st.integers(0, 20),
    hot_shards=st.integers(1, 6),
    cold_units=st.integers(0, 6),
    steps=st.lists(STEP, min_size=1, max_size=10),
)
def test_random_holds_and_settlements_across_shards_never_oversell(
    tables: dict[str, Any], hot_units: int, hot_shards: int, cold_units: int, steps: list[tuple[str, int, int, int]]
) -> None:
    run = next(_examples)
    hot, cold = f"HOT-{run}", f"COLD-{run}"
    inventory.seed({"products": [product(hot, hot_units, hot_shards), product(cold, cold_units, None)]})
    seeded = {hot: hot_units, cold: cold_units}
    available = dict(seeded)
    status: dict[str, str] = {}  # order -> HELD | RELEASED | SOLD, by the model
    quantities: dict[str, dict[str, int]] = {}
    for action, number, hot_q, cold_q in steps:
        order_id = f"ord-{run}-{number}"
        if action == "hold":
            if order_id in status:
                # A retry of a hold that committed (same lines), even once its stock is gone: never held twice.
                retry = [{"sku": sku, "quantity": q} for sku, q in quantities[order_id].items()]
                with pytest.raises(AlreadyHeld):
                    inventory.hold_stock(order_id, WAREHOUSE, retry)
                continue
            lines = [{"sku": s, "quantity": q} for s, q in ((hot, hot_q), (cold, cold_q)) if q]
            lines = lines or [{"sku": hot, "quantity": 1}]
            fits = all(available[line["sku"]] >= line["quantity"] for line in lines)
            shortages = inventory.hold_stock(order_id, WAREHOUSE, lines)
            assert (shortages == []) == fits, (lines, available, shortages)
            if fits:
                status[order_id] = HELD
                quantities[order_id] = {line["sku"]: line["quantity"] for line in lines}
                for line in lines:
                    available[line["sku"]] -= line["quantity"]
        else:
            settle = inventory.release_holds if action == "release" else inventory.sell_held_stock
            settled = settle(order_id)
            if status.get(order_id) == HELD:
                assert {line["sku"]: line["quantity"] for line in settled} == quantities[order_id]
                status[order_id] = RELEASED if action == "release" else SOLD
                if action == "release":
                    for sku, quantity in quantities[order_id].items():
                        available[sku] += quantity
            else:
                assert settled == []
        for sku in (hot, cold):
            held = sum(q.get(sku, 0) for o, q in quantities.items() if status[o] == HELD)
            sold = sum(q.get(sku, 0) for o, q in quantities.items() if status[o] == SOLD)
            assert inventory.stock_levels(sku)[WAREHOUSE] == {"available": available[sku], "held": held, "sold": sold}
            assert all(min(item.values()) >= 0 for item in shard_items(sku))
            holding = [o for o, q in quantities.items() if status[o] == HELD and sku in q]
            # Each shard's `held` is exactly what the holds say they took from it: releases go back there.
            assert [item["held"] for item in shard_items(sku)] == held_per_shard(sku, holding)
            assert available[sku] + held + sold == seeded[sku]


def test_a_hold_that_keeps_losing_its_units_to_other_orders_gives_up_clearly(
    tables: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    inventory.seed({"products": [product("HOT", 6, 3)]})
    monkeypatch.setattr(inventory, "_commit_hold", lambda *args: False)  # every plan loses its race
    with pytest.raises(inventory.StockContended, match="ord-1: other orders kept taking the stock"):
        inventory.hold_stock("ord-1", WAREHOUSE, [{"sku": "HOT", "quantity": 2}])
