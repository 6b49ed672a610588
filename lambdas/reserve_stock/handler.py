"""ReserveStock task: {order} -> {warehouseId, queueUrl, lines} (docs/CONTRACTS.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.reserve_stock import logic
from lambdas.shared import constants
from lambdas.shared.adapters import inventory
from lambdas.shared.errors import OutOfStock, Undeliverable
from lambdas.shared.observability import lambda_handler, logger, metrics
from lambdas.shared.settings import SettingError, text
from lambdas.shared.stock import Hold, Shortage


class Settings(NamedTuple):
    inventory_table: str
    warehouses: list[logic.Warehouse]


@cache
def settings() -> Settings:
    """Read once per container, at its first invocation."""
    try:
        warehouses = logic.parse_warehouses(text(constants.ENV_WAREHOUSES))
    except (ValueError, KeyError, TypeError) as error:
        raise SettingError(f"environment variable {constants.ENV_WAREHOUSES} is invalid: {error!r}") from None
    return Settings(text(constants.ENV_INVENTORY_TABLE), warehouses)


class _Stock:
    """The inventory table as ReserveStock's StockStore."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def order_holds(self, order_id: str) -> list[Hold]:
        return inventory.order_holds(order_id, table_name=self.table_name)

    def hold_stock(self, order_id: str, warehouse_id: str, lines: Sequence[Mapping[str, Any]]) -> list[Shortage]:
        return inventory.hold_stock(order_id, warehouse_id, lines, table_name=self.table_name)


@lambda_handler(correlation_id_path="order.orderId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    s = settings()
    try:
        reservation = logic.reserve(event["order"], s.warehouses, _Stock(s.inventory_table))
    except (OutOfStock, Undeliverable) as error:
        # Lost sales by cause ("OutOfStock", "Undeliverable"): what a buyer and a shipping manager watch.
        metrics.add_metric(name=type(error).__name__.removeprefix("Order."), unit=MetricUnit.Count, value=1)
        logger.info("stock not reserved", extra={"reason": str(error)})
        raise
    metrics.add_metric(name="StockReserved", unit=MetricUnit.Count, value=1)
    logger.info("stock held", extra={"warehouseId": reservation["warehouseId"], "lines": len(reservation["lines"])})
    return reservation
