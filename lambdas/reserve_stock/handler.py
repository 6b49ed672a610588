"""ReserveStock task: {order} -> {warehouseId, queueUrl, lines} (docs/CONTRACTS.md)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.reserve_stock import logic
from lambdas.shared import constants
from lambdas.shared.adapters import inventory
from lambdas.shared.adapters.aws_clients import env
from lambdas.shared.errors import OutOfStock, Undeliverable
from lambdas.shared.observability import lambda_handler, logger, metrics


@lambda_handler(correlation_id_path="order.orderId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    warehouses = logic.parse_warehouses(env(constants.ENV_WAREHOUSES))
    try:
        reservation = logic.reserve(event["order"], warehouses, inventory)
    except (OutOfStock, Undeliverable) as error:
        # Lost sales by cause ("OutOfStock", "Undeliverable"): what a buyer and a shipping manager watch.
        metrics.add_metric(name=type(error).__name__.removeprefix("Order."), unit=MetricUnit.Count, value=1)
        logger.info("stock not reserved", extra={"reason": str(error)})
        raise
    metrics.add_metric(name="StockReserved", unit=MetricUnit.Count, value=1)
    logger.info("stock held", extra={"warehouseId": reservation["warehouseId"], "lines": len(reservation["lines"])})
    return reservation
