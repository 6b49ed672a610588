"""Stock, pure: the catalog's items, the holds an order takes, and sharded stock (which shard an order holds
from, how a line spreads over shards, what it allows).

A SKU's stock in one warehouse lives in ``shards`` items (lambdas/shared/adapters/inventory.py); every
hold is a conditional write on the shards it takes units from, so no plan made here can oversell: a
plan only says which conditions to try. The capacity figures are the ones docs/HOT-PRODUCT.md states
and the capacity model (bench) imports.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any, Final, NamedTuple

from lambdas.shared import constants

# DynamoDB limits (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html,
# .../transaction-apis.html#transaction-capacity-handling, .../read-write-operations.html).
ITEM_WCU_PER_SECOND: Final = 1_000  # per partition, hence per item
PARTITION_RCU_PER_SECOND: Final = 3_000
TRANSACT_WCU_PER_KB: Final = 2  # a transactional write costs twice a plain one
EVENTUAL_RCU_PER_4KB: Final = 0.5
CONSISTENT_RCU_PER_4KB: Final = 1.0
MAX_TRANSACTION_ITEMS: Final = 100


class CatalogItem(NamedTuple):
    """A product as the inventory table's CATALOG item describes it."""

    sku: str
    name: str
    price_cents: int
    lead_time_days: int
    active: bool = True
    weight_grams: int = 0  # shipped weight of one unit (logistics); 0 when the catalog does not say


# ---------------------------------------------------------------------------
# Stock holds: what the inventory holds for an order (ORDER#<orderId> / HOLD#<sku> items).
# ---------------------------------------------------------------------------
HELD = "HELD"
SOLD = "SOLD"
RELEASED = "RELEASED"


class AlreadyHeld(Exception):
    """Holds for this order already exist (an earlier or concurrent attempt made them)."""


class Hold(NamedTuple):
    order_id: str
    sku: str
    warehouse_id: str
    quantity: int
    status: str

    def line(self) -> dict[str, Any]:
        return {"sku": self.sku, "warehouseId": self.warehouse_id, "quantity": self.quantity}


class Shortage(NamedTuple):
    """A line a warehouse cannot hold: ``available`` is None when the warehouse does not stock the SKU."""

    sku: str
    requested: int
    available: int | None


def shard_count(value: object) -> int:
    """A catalog's "stockShards" (None: the default), checked: a clear error names what is wrong."""
    if value is None:
        return constants.DEFAULT_STOCK_SHARDS
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= constants.MAX_STOCK_SHARDS:
        raise ValueError(f"stockShards: must be an integer from 1 to {constants.MAX_STOCK_SHARDS}, got {value!r}")
    return value


def split(units: int, shards: int) -> list[int]:
    """``units`` spread as evenly as possible over ``shards`` (a restock)."""
    share, rest = divmod(units, shards)
    return [share + (1 if index < rest else 0) for index in range(shards)]


def preferred_shard(order_id: str, shards: int) -> int:
    """The shard an order tries first: a stable hash, so orders spread evenly and a retry picks the same one."""
    digest = hashlib.sha256(order_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % shards


def plan(order_id: str, quantity: int, available: Sequence[int], max_parts: int) -> dict[int, int] | None:
    """{shard: units} taking ``quantity`` from the shards' ``available`` counts, or None when they cannot.

    The order's preferred shard alone when it has enough (the usual case: one write); else the
    fullest shards first, so a line touches as few items as possible, at most ``max_parts``.
    """
    if quantity < 1:
        raise ValueError(f"quantity: must be at least 1, got {quantity}")
    first = preferred_shard(order_id, len(available))
    if available[first] >= quantity:
        return {first: quantity}
    parts: dict[int, int] = {}
    needed = quantity
    for shard in sorted(range(len(available)), key=lambda index: (-available[index], index)):
        if needed == 0 or available[shard] <= 0 or len(parts) == max_parts:
            break
        parts[shard] = min(available[shard], needed)
        needed -= parts[shard]
    return parts if needed == 0 else None


def parts_budget(lines: int) -> int:
    """Shards one line may take from: a hold is one transaction of (parts + 1 hold item) per line."""
    return max(1, MAX_TRANSACTION_ITEMS // lines - 1)


# ---------------------------------------------------------------------------
# The figure (docs/HOT-PRODUCT.md): holds per second one SKU in one warehouse allows
# ---------------------------------------------------------------------------
def hold_write_units(item_kb: float = 1.0) -> int:
    """WCU one hold costs on the stock item it takes from (a transactional write of that item)."""
    return TRANSACT_WCU_PER_KB * max(1, math.ceil(item_kb))


def holds_per_second_unsharded(item_kb: float = 1.0) -> float:
    """Before sharding: every hold of the SKU-warehouse writes its one stock item."""
    return ITEM_WCU_PER_SECOND / hold_write_units(item_kb)


# RCU each order reads today on shard 0's partition, PRODUCT#<sku>, which also holds the CATALOG item:
# ReserveStock's read of shard 0 (0.5), the catalog read by ValidateOrder, PriceOrder, the logistics
# and the inventory subscribers (4 x 0.5), and the inventory subscriber's consistent stock query (1).
HEAD_RCU_PER_ORDER: Final = EVENTUAL_RCU_PER_4KB + 4 * EVENTUAL_RCU_PER_4KB + CONSISTENT_RCU_PER_4KB


def holds_per_second(shards: int, item_kb: float = 1.0, head_rcu_per_order: float = EVENTUAL_RCU_PER_4KB) -> float:
    """With ``shards`` items: writes spread over them, while every hold reads each shard once
    (eventually consistent) to find one with stock, so each shard's partition also caps it by reads;
    shard 0's partition takes ``head_rcu_per_order`` (pass ``HEAD_RCU_PER_ORDER`` for the whole pipeline)."""
    reads = max(1, math.ceil(item_kb / 4))
    writes = shards * ITEM_WCU_PER_SECOND / hold_write_units(item_kb)
    other_shards = PARTITION_RCU_PER_SECOND / (EVENTUAL_RCU_PER_4KB * reads)
    head = PARTITION_RCU_PER_SECOND / (head_rcu_per_order * reads)
    return min(writes, other_shards, head)


def sold_out_rejections_per_second(item_kb: float = 1.0) -> float:
    """A sold-out SKU-warehouse turns orders away on reads alone (no write): one eventually consistent
    read per shard, confirmed by a consistent one; each shard's partition serves this many per second."""
    per_order = (EVENTUAL_RCU_PER_4KB + CONSISTENT_RCU_PER_4KB) * max(1, math.ceil(item_kb / 4))
    return PARTITION_RCU_PER_SECOND / per_order
