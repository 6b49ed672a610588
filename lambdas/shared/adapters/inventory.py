"""All access to the inventory table: catalog, stock levels per warehouse, and per-order holds.

Items (docs/CONTRACTS.md):
- ``PRODUCT#<sku>`` / ``CATALOG``: name, priceCents, leadTimeDays, active
- ``PRODUCT#<sku>`` / ``STOCK#<warehouseId>``: available, held, sold (their sum only changes on restock)
- ``ORDER#<orderId>`` / ``HOLD#<sku>``: warehouseId, quantity, status HELD | SOLD | RELEASED

Every change of stock is one DynamoDB transaction with conditions, so concurrent orders can never
oversell and a retried call can never apply twice: the conditions, not a prior read, decide.
Functions take ``table_name`` for scripts (examples/seed.py); handlers leave it to the environment.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from lambdas.shared import constants
from lambdas.shared.adapters.aws_clients import env, table
from lambdas.shared.adapters.dynamo import condition_failed, query_all, transact
from lambdas.shared.order import HELD, RELEASED, SOLD, AlreadyHeld, CatalogItem, Hold, Shortage

# The model types live with the order (pure); re-exported for callers of this adapter.
__all__ = [
    "HELD",
    "RELEASED",
    "SOLD",
    "AlreadyHeld",
    "CatalogItem",
    "Hold",
    "Shortage",
    "StockInvariantBroken",
    "get_catalog",
    "hold_stock",
    "order_holds",
    "release_holds",
    "seed",
    "sell_held_stock",
    "stock_levels",
]

CATALOG_SK = "CATALOG"
_STOCK_PREFIX = "STOCK#"
_HOLD_PREFIX = "HOLD#"
_BATCH_GET_LIMIT = 100
_THROTTLED_ATTEMPTS = 6


class StockInvariantBroken(Exception):
    """A HELD hold names more units than its stock item holds: the table was edited by hand."""


# ---------------------------------------------------------------------------
# Keys and helpers (the resource layer: plain Python values in, Decimal numbers out)
# ---------------------------------------------------------------------------
def product_pk(sku: str) -> str:
    return f"PRODUCT#{sku}"


def stock_sk(warehouse_id: str) -> str:
    return f"{_STOCK_PREFIX}{warehouse_id}"


def order_pk(order_id: str) -> str:
    return f"ORDER#{order_id}"


def hold_sk(sku: str) -> str:
    return f"{_HOLD_PREFIX}{sku}"


def _key(pk: str, sk: str) -> dict[str, str]:
    return {"pk": pk, "sk": sk}


def _int(item: Mapping[str, Any], name: str) -> int:
    return int(item.get(name, 0))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _table_name(table_name: str | None) -> str:
    return table_name or env(constants.ENV_INVENTORY_TABLE)


# ---------------------------------------------------------------------------
# Catalog
# ---------------------------------------------------------------------------
def get_catalog(skus: Iterable[str], *, table_name: str | None = None) -> dict[str, CatalogItem]:
    """The CATALOG items of these SKUs (BatchGetItem); unknown SKUs are simply absent."""
    name = _table_name(table_name)
    dynamodb = table(name).meta.client
    wanted = sorted(set(skus))
    found: dict[str, CatalogItem] = {}
    for start in range(0, len(wanted), _BATCH_GET_LIMIT):
        chunk = wanted[start : start + _BATCH_GET_LIMIT]
        request: dict[str, Any] = {name: {"Keys": [_key(product_pk(sku), CATALOG_SK) for sku in chunk]}}
        for attempt in range(_THROTTLED_ATTEMPTS):
            page = dynamodb.batch_get_item(RequestItems=request)
            for item in page.get("Responses", {}).get(name, []):
                product = _catalog_item(item)
                found[product.sku] = product
            request = page.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(random.uniform(0, 0.02 * 2**attempt))  # throttled: back off, with jitter
        else:
            raise RuntimeError(f"catalog read of {len(chunk)} SKUs still throttled after {_THROTTLED_ATTEMPTS} tries")
    return found


def _catalog_item(item: Mapping[str, Any]) -> CatalogItem:
    return CatalogItem(
        sku=str(item["pk"]).removeprefix("PRODUCT#"),
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
    return [
        Hold(
            order_id=order_id,
            sku=str(item["sk"]).removeprefix(_HOLD_PREFIX),
            warehouse_id=str(item["warehouseId"]),
            quantity=_int(item, "quantity"),
            status=str(item["status"]),
        )
        for item in query_all(table(_table_name(table_name)), order_pk(order_id), sk_prefix=_HOLD_PREFIX)
    ]


def hold_stock(
    order_id: str, warehouse_id: str, lines: Sequence[Mapping[str, Any]], *, table_name: str | None = None
) -> list[Shortage]:
    """Hold every line in one warehouse, all or nothing. Returns [] when held, else the shortages.

    One transaction: per line, stock ``available -= q, held += q`` if ``available >= q``, and a HOLD
    item that must not exist yet. ``AlreadyHeld`` when the order already has holds.
    """
    name = _table_name(table_name)
    now = _now()
    items: list[dict[str, Any]] = []
    for line in lines:
        quantity = int(line["quantity"])
        items.append(
            {
                "Update": {
                    "TableName": name,
                    "Key": _key(product_pk(line["sku"]), stock_sk(warehouse_id)),
                    "UpdateExpression": "SET available = available - :q, held = if_not_exists(held, :zero) + :q",
                    # Fails too when the warehouse has no stock item for the SKU (no `available`).
                    "ConditionExpression": "available >= :q",
                    "ExpressionAttributeValues": {":q": quantity, ":zero": 0},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        )
        items.append(
            {
                "Put": {
                    "TableName": name,
                    "Item": {
                        **_key(order_pk(order_id), hold_sk(line["sku"])),
                        "warehouseId": warehouse_id,
                        "quantity": quantity,
                        "status": HELD,
                        "heldAt": now,
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        )
    reasons = transact(table(name), items)
    if reasons is None:
        return []
    if any(condition_failed(reasons, index) for index in range(1, len(items), 2)):
        raise AlreadyHeld(f"order {order_id} already holds stock")
    return [
        Shortage(sku=line["sku"], requested=int(line["quantity"]), available=_available(reasons[2 * index]))
        for index, line in enumerate(lines)
        if condition_failed(reasons, 2 * index)
    ]


def _available(reason: Mapping[str, Any]) -> int | None:
    """``available`` of the stock item a failed condition returned (ALL_OLD), None when there was no item.

    Errors are not run through the resource layer's deserializer: the item is in DynamoDB's typed form.
    """
    attribute = reason.get("Item", {}).get("available")
    return None if attribute is None else int(attribute["N"])


def release_holds(order_id: str, *, table_name: str | None = None) -> list[dict[str, Any]]:
    """Return every HELD unit of the order to ``available``. Idempotent: returns only what this call released."""
    return _settle(order_id, RELEASED, "available", _table_name(table_name))


def sell_held_stock(order_id: str, *, table_name: str | None = None) -> list[dict[str, Any]]:
    """Turn the order's HELD units into ``sold`` (on OrderCompleted). Idempotent under redelivery and replay:
    returns only what this call sold ([] when an earlier delivery did it)."""
    return _settle(order_id, SOLD, "sold", _table_name(table_name))


def _settle(order_id: str, status: str, counter: str, table_name: str) -> list[dict[str, Any]]:
    """Move each HELD hold to ``status`` and its units from ``held`` to ``counter``, one transaction per hold.

    The hold's own ``status = HELD`` condition makes a second caller (retry, duplicate event) a no-op.
    """
    settled = []
    for hold in order_holds(order_id, table_name=table_name):
        if hold.status != HELD:
            continue
        reasons = transact(
            table(table_name),
            [
                {
                    "Update": {
                        "TableName": table_name,
                        "Key": _key(order_pk(order_id), hold_sk(hold.sku)),
                        "UpdateExpression": "SET #status = :to, settledAt = :now",
                        "ConditionExpression": "#status = :held",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {":to": status, ":held": HELD, ":now": _now()},
                    }
                },
                {
                    "Update": {
                        "TableName": table_name,
                        "Key": _key(product_pk(hold.sku), stock_sk(hold.warehouse_id)),
                        "UpdateExpression": "SET held = held - :q, #counter = if_not_exists(#counter, :zero) + :q",
                        "ConditionExpression": "held >= :q",
                        "ExpressionAttributeNames": {"#counter": counter},
                        "ExpressionAttributeValues": {":q": hold.quantity, ":zero": 0},
                    }
                },
            ],
        )
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
    """{warehouseId: {available, held, sold}} for one SKU."""
    return {
        str(item["sk"]).removeprefix(_STOCK_PREFIX): {
            "available": _int(item, "available"),
            "held": _int(item, "held"),
            "sold": _int(item, "sold"),
        }
        for item in query_all(table(_table_name(table_name)), product_pk(sku), sk_prefix=_STOCK_PREFIX)
    }


def seed(catalog: Mapping[str, Any], *, table_name: str | None = None) -> int:
    """Write a catalog document ({"products": [{sku, name, priceCents, leadTimeDays, active?, stock}]}).

    Catalog items are overwritten; stock items get ``available`` set to the given level (a restock)
    while ``held`` and ``sold`` keep their counts, so seeding under live orders never breaks holds.
    Returns the number of items written.
    """
    inventory = table(_table_name(table_name))
    written = 0
    for product in catalog["products"]:
        sku = str(product["sku"])
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
            inventory.update_item(
                Key=_key(product_pk(sku), stock_sk(str(warehouse_id))),
                UpdateExpression="SET available = :a, held = if_not_exists(held, :zero), "
                "sold = if_not_exists(sold, :zero)",
                ExpressionAttributeValues={":a": int(available), ":zero": 0},
            )
            written += 1
    return written
