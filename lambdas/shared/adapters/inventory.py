"""All access to the inventory table: catalog, stock levels per warehouse, and per-order holds.

Items (docs/CONTRACTS.md):
- ``PRODUCT#<sku>`` / ``CATALOG``: name, priceCents, leadTimeDays, active
- ``PRODUCT#<sku>`` / ``STOCK#<warehouseId>``: available, held, sold (their sum only changes on restock),
  shards (how many items hold this SKU's stock here; absent = 1)
- ``PRODUCT#<sku>#<n>`` / ``STOCK#<warehouseId>``: shard n >= 1 of that stock, same counters, own partition
- ``ORDER#<orderId>`` / ``HOLD#<sku>``: warehouseId, quantity, shards {n: units taken from shard n},
  status HELD | SOLD | RELEASED

A SKU-warehouse's stock is the sum of its shards (``stock_levels``, ``stock_totals``): a hot product
spreads its holds over several items' write limits (docs/HOT-PRODUCT.md, lambdas/shared/stock.py).

Every change of stock is one DynamoDB transaction with conditions, so concurrent orders can never
oversell and a retried call can never apply twice: the conditions, not a prior read, decide.
Functions take ``table_name`` for scripts (examples/seed.py); handlers leave it to the environment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lambdas.shared import constants, stock
from lambdas.shared.adapters.aws_clients import env, table
from lambdas.shared.adapters.dynamo import batch_get, condition_failed, query_all, transact
from lambdas.shared.clock import now_iso
from lambdas.shared.stock import HELD, RELEASED, SOLD, AlreadyHeld, CatalogItem, Hold, Shortage

# The model types live with the order (pure); re-exported for callers of this adapter.
__all__ = [
    "HELD",
    "RELEASED",
    "SOLD",
    "AlreadyHeld",
    "CatalogItem",
    "Hold",
    "Shortage",
    "StockContended",
    "StockInvariantBroken",
    "get_catalog",
    "hold_stock",
    "order_holds",
    "release_holds",
    "seed",
    "sell_held_stock",
    "stock_levels",
    "stock_totals",
]

_PK, _SK = constants.INVENTORY_TABLE_KEYS
_PRODUCT_PREFIX = "PRODUCT#"
CATALOG_SK = "CATALOG"
_STOCK_PREFIX = "STOCK#"
# Holds, one item per order line: ORDER#<orderId> / HOLD#<sku> (the sweeper scans for them too).
ORDER_PREFIX = "ORDER#"
HOLD_PREFIX = "HOLD#"
# Re-plans of a hold whose shards other orders emptied meanwhile (each re-plan reads them consistently).
_CONTENDED_ATTEMPTS = 8


class StockInvariantBroken(Exception):
    """A HELD hold names more units than its stock item holds: the table was edited by hand."""


class StockContended(Exception):
    """Other orders kept taking the units a hold planned on, more times than a hold re-plans."""


# ---------------------------------------------------------------------------
# Keys and helpers (the resource layer: plain Python values in, Decimal numbers out)
# ---------------------------------------------------------------------------
def product_pk(sku: str) -> str:
    return f"{_PRODUCT_PREFIX}{sku}"


def stock_sk(warehouse_id: str) -> str:
    return f"{_STOCK_PREFIX}{warehouse_id}"


def stock_key(sku: str, warehouse_id: str, shard: int) -> dict[str, str]:
    """Shard 0 is the item stock always had; shard n >= 1 gets its own partition (its own write limit)."""
    pk = product_pk(sku) if shard == 0 else f"{product_pk(sku)}#{shard}"
    return _key(pk, stock_sk(warehouse_id))


def order_pk(order_id: str) -> str:
    return f"{ORDER_PREFIX}{order_id}"


def hold_sk(sku: str) -> str:
    return f"{HOLD_PREFIX}{sku}"


def _key(pk: str, sk: str) -> dict[str, str]:
    return {_PK: pk, _SK: sk}


def _int(item: Mapping[str, Any], name: str) -> int:
    return int(item.get(name, 0))


def _table_name(table_name: str | None) -> str:
    return table_name or env(constants.ENV_INVENTORY_TABLE)


# ---------------------------------------------------------------------------
# Catalog
# ---------------------------------------------------------------------------
def get_catalog(skus: Iterable[str], *, table_name: str | None = None) -> dict[str, CatalogItem]:
    """The CATALOG items of these SKUs (BatchGetItem); unknown SKUs are simply absent."""
    keys = [_key(product_pk(sku), CATALOG_SK) for sku in sorted(set(skus))]
    products = (_catalog_item(item) for item in batch_get(table(_table_name(table_name)), keys))
    return {product.sku: product for product in products}


def _catalog_item(item: Mapping[str, Any]) -> CatalogItem:
    return CatalogItem(
        sku=str(item[_PK]).removeprefix(_PRODUCT_PREFIX),
        name=str(item.get("name", "")),
        price_cents=_int(item, "priceCents"),
        lead_time_days=_int(item, "leadTimeDays"),
        active=bool(item.get("active", True)),
        weight_grams=_int(item, "weightGrams") if "weightGrams" in item else 0,
    )


# ---------------------------------------------------------------------------
# Holds
# ---------------------------------------------------------------------------
def order_holds(order_id: str, *, table_name: str | None = None) -> list[Hold]:
    """Every hold of an order, whatever its status (strongly consistent: a retry sees a fresh hold)."""
    return [hold for hold, _ in _holds_with_shards(order_id, _table_name(table_name))]


def _holds_with_shards(order_id: str, table_name: str) -> list[tuple[Hold, dict[int, int]]]:
    """Each hold with the units it took from each shard (a hold from before sharding took all from shard 0)."""
    holds = []
    for item in query_all(table(table_name), order_pk(order_id), sk_prefix=HOLD_PREFIX, keys=(_PK, _SK)):
        quantity = _int(item, "quantity")
        parts = {int(shard): int(units) for shard, units in dict(item.get("shards") or {"0": quantity}).items()}
        hold = Hold(
            order_id=order_id,
            sku=str(item[_SK]).removeprefix(HOLD_PREFIX),
            warehouse_id=str(item["warehouseId"]),
            quantity=quantity,
            status=str(item["status"]),
        )
        holds.append((hold, parts))
    return holds


def hold_stock(
    order_id: str, warehouse_id: str, lines: Sequence[Mapping[str, Any]], *, table_name: str | None = None
) -> list[Shortage]:
    """Hold every line in one warehouse, all or nothing. Returns [] when held, else the shortages.

    Reads the lines' shards first: a line they cannot cover is a shortage with no write at all (a
    sold-out product is turned away on reads). Otherwise one transaction: per shard a line takes
    from, ``available -= u, held += u`` if ``available >= u``, and a HOLD item that must not exist
    yet. A plan that lost a shard's units to another order meanwhile is re-planned on a consistent
    read, and a shortage is only reported from a consistent read. ``AlreadyHeld`` when the order
    already has holds.
    """
    name = _table_name(table_name)
    budget = stock.parts_budget(len(lines))
    for attempt in range(_CONTENDED_ATTEMPTS):
        consistent = attempt > 0
        levels = _shard_levels(name, [str(line["sku"]) for line in lines], warehouse_id, consistent=consistent)
        plans: list[dict[int, int]] = []
        shortages: list[Shortage] = []
        for line in lines:
            quantity = int(line["quantity"])
            available = levels.get(line["sku"])
            parts = None if available is None else stock.plan(order_id, quantity, available, budget)
            if parts is None:
                total = None if available is None else sum(available)
                shortages.append(Shortage(sku=line["sku"], requested=quantity, available=total))
            plans.append(parts or {})
        if shortages:
            if not consistent:
                continue  # an eventually consistent read may miss a release: confirm before turning the order away
            if order_holds(order_id, table_name=name):
                # A concurrent attempt for this order took the units: its hold is ours (as a failed Put says).
                raise AlreadyHeld(f"order {order_id} already holds stock")
            return shortages
        if _commit_hold(name, order_id, warehouse_id, lines, plans):
            return []
    raise StockContended(f"order {order_id}: other orders kept taking the stock it planned on at {warehouse_id}")


def _shard_levels(name: str, skus: Sequence[str], warehouse_id: str, *, consistent: bool) -> dict[str, list[int]]:
    """{sku: available per shard} at one warehouse; SKUs it does not stock are absent.

    Two reads: shard 0 of each SKU (it says how many shards there are), then the other shards.
    """
    heads = batch_get(
        table(name), [stock_key(sku, warehouse_id, 0) for sku in sorted(set(skus))], consistent=consistent
    )
    levels = {
        str(head[_PK]).removeprefix(_PRODUCT_PREFIX): [_int(head, "available")] + [0] * (_shards(head) - 1)
        for head in heads
    }
    others = [stock_key(sku, warehouse_id, shard) for sku, level in levels.items() for shard in range(1, len(level))]
    for item in batch_get(table(name), others, consistent=consistent):
        sku, shard = _shard_of(item)
        levels[sku][shard] = _int(item, "available")
    return levels


def _shards(head: Mapping[str, Any]) -> int:
    return _int(head, "shards") if "shards" in head else 1


def _shard_of(item: Mapping[str, Any]) -> tuple[str, int]:
    """(sku, shard) of a stock item's partition key (SKUs never contain '#')."""
    sku, _, shard = str(item[_PK]).removeprefix(_PRODUCT_PREFIX).partition("#")
    return sku, int(shard or 0)


def _commit_hold(
    name: str, order_id: str, warehouse_id: str, lines: Sequence[Mapping[str, Any]], plans: Sequence[dict[int, int]]
) -> bool:
    """The planned hold as one transaction: True when it committed, False when a shard no longer had
    the units planned; ``AlreadyHeld`` when the order's HOLD items exist."""
    now = now_iso()
    items: list[dict[str, Any]] = []
    hold_indexes = []
    for line, parts in zip(lines, plans, strict=True):
        for shard, units in sorted(parts.items()):
            items.append(
                {
                    "Update": {
                        "TableName": name,
                        "Key": stock_key(line["sku"], warehouse_id, shard),
                        "UpdateExpression": "SET available = available - :q, held = if_not_exists(held, :zero) + :q",
                        # Fails too when the shard item does not exist (no `available`).
                        "ConditionExpression": "available >= :q",
                        "ExpressionAttributeValues": {":q": units, ":zero": 0},
                    }
                }
            )
        hold_indexes.append(len(items))
        items.append(
            {
                "Put": {
                    "TableName": name,
                    "Item": {
                        **_key(order_pk(order_id), hold_sk(line["sku"])),
                        "warehouseId": warehouse_id,
                        "quantity": int(line["quantity"]),
                        "shards": {str(shard): units for shard, units in parts.items()},
                        "status": HELD,
                        "heldAt": now,
                    },
                    "ConditionExpression": f"attribute_not_exists({_PK})",
                }
            }
        )
    reasons = transact(table(name), items)
    if reasons is None:
        return True
    if any(condition_failed(reasons, index) for index in hold_indexes):
        raise AlreadyHeld(f"order {order_id} already holds stock")
    return False


def release_holds(order_id: str, *, table_name: str | None = None) -> list[dict[str, Any]]:
    """Return every HELD unit of the order to ``available``. Idempotent: returns only what this call released."""
    return _settle(order_id, RELEASED, "available", _table_name(table_name))


def sell_held_stock(order_id: str, *, table_name: str | None = None) -> list[dict[str, Any]]:
    """Turn the order's HELD units into ``sold`` (on OrderCompleted). Idempotent under redelivery and replay:
    returns only what this call sold ([] when an earlier delivery did it)."""
    return _settle(order_id, SOLD, "sold", _table_name(table_name))


def _settle(order_id: str, status: str, counter: str, table_name: str) -> list[dict[str, Any]]:
    """Move each HELD hold to ``status`` and its units from ``held`` to ``counter`` on the shards they came
    from, one transaction per hold.

    The hold's own ``status = HELD`` condition makes a second caller (retry, duplicate event) a no-op.
    """
    settled = []
    for hold, parts in _holds_with_shards(order_id, table_name):
        if hold.status != HELD:
            continue
        shard_updates = [
            {
                "Update": {
                    "TableName": table_name,
                    "Key": stock_key(hold.sku, hold.warehouse_id, shard),
                    "UpdateExpression": "SET held = held - :q, #counter = if_not_exists(#counter, :zero) + :q",
                    "ConditionExpression": "held >= :q",
                    "ExpressionAttributeNames": {"#counter": counter},
                    "ExpressionAttributeValues": {":q": units, ":zero": 0},
                }
            }
            for shard, units in sorted(parts.items())
        ]
        hold_update = {
            "Update": {
                "TableName": table_name,
                "Key": _key(order_pk(order_id), hold_sk(hold.sku)),
                "UpdateExpression": "SET #status = :to, settledAt = :now",
                "ConditionExpression": "#status = :held",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":to": status, ":held": HELD, ":now": now_iso()},
            }
        }
        reasons = transact(table(table_name), [hold_update, *shard_updates])
        if reasons is None:
            settled.append(hold.line())
        elif not condition_failed(reasons, 0):
            raise StockInvariantBroken(
                f"{hold.sku} at {hold.warehouse_id} holds fewer than the {hold.quantity} units order {order_id} holds"
            )
        # else: another caller settled this hold first; nothing to do.
    return settled


# ---------------------------------------------------------------------------
# Reporting and seeding
# ---------------------------------------------------------------------------
def stock_levels(sku: str, *, table_name: str | None = None) -> dict[str, dict[str, int]]:
    """{warehouseId: {available, held, sold}} for one SKU, summed over its shards (strongly consistent)."""
    name = _table_name(table_name)
    heads = list(query_all(table(name), product_pk(sku), sk_prefix=_STOCK_PREFIX, keys=(_PK, _SK)))
    others = [
        stock_key(sku, str(head[_SK]).removeprefix(_STOCK_PREFIX), shard)
        for head in heads
        for shard in range(1, _shards(head))
    ]
    totals = stock_totals([*heads, *batch_get(table(name), others, consistent=True)])
    return {warehouse_id: level for (_, warehouse_id), level in totals.items()}


def stock_totals(items: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], dict[str, int]]:
    """{(sku, warehouseId): {available, held, sold}} summed over shards, from any inventory items (a scan):
    what a tool shows as a SKU-warehouse's stock. Items other than stock items are skipped."""
    totals: dict[tuple[str, str], dict[str, int]] = {}
    for item in items:
        if not (str(item[_PK]).startswith(_PRODUCT_PREFIX) and str(item[_SK]).startswith(_STOCK_PREFIX)):
            continue
        sku, _ = _shard_of(item)
        level = totals.setdefault((sku, str(item[_SK]).removeprefix(_STOCK_PREFIX)), dict.fromkeys(_COUNTERS, 0))
        for counter in _COUNTERS:
            level[counter] += _int(item, counter)
    return totals


_COUNTERS = ("available", "held", "sold")


def seed(catalog: Mapping[str, Any], *, table_name: str | None = None) -> int:
    """Write a catalog document ({"products": [{sku, name, priceCents, leadTimeDays, active?, stockShards?,
    stock}]}).

    Catalog items are overwritten; a stock level is spread over the SKU's shards (``stockShards``,
    default ``DEFAULT_STOCK_SHARDS``) as each shard's ``available`` (a restock) while ``held`` and
    ``sold`` keep their counts, so seeding under live orders never breaks holds. A SKU-warehouse never
    loses shards (held units would be stranded). Returns the number of items written.
    """
    name = _table_name(table_name)
    inventory = table(name)
    written = 0
    for product in catalog["products"]:
        sku = str(product["sku"])
        shards = stock.shard_count(product.get("stockShards"))
        inventory.put_item(
            Item={
                **_key(product_pk(sku), CATALOG_SK),
                "name": str(product["name"]),
                "priceCents": int(product["priceCents"]),
                "leadTimeDays": int(product["leadTimeDays"]),
                "active": bool(product.get("active", True)),
                **({"weightGrams": int(product["weightGrams"])} if "weightGrams" in product else {}),
            }
        )
        written += 1
        for warehouse_id, available in dict(product.get("stock", {})).items():
            written += _restock(inventory, sku, str(warehouse_id), int(available), shards)
    return written


def _restock(inventory: Any, sku: str, warehouse_id: str, available: int, shards: int) -> int:
    """Set ``available`` of every shard; shard 0 last, with the count, so a hold never plans on a shard
    that does not exist yet."""
    head = inventory.get_item(Key=stock_key(sku, warehouse_id, 0), ConsistentRead=True).get("Item") or {}
    if head and _shards(head) > shards:
        raise ValueError(f"stockShards: {sku} at {warehouse_id} has {_shards(head)} shards, cannot lower to {shards}")
    for shard, units in reversed(list(enumerate(stock.split(available, shards)))):
        inventory.update_item(
            Key=stock_key(sku, warehouse_id, shard),
            UpdateExpression="SET available = :a, held = if_not_exists(held, :zero), "
            "sold = if_not_exists(sold, :zero)" + (", shards = :n" if shard == 0 else ""),
            ExpressionAttributeValues={":a": units, ":zero": 0, **({":n": shards} if shard == 0 else {})},
        )
    return shards
