"""ReleaseStock task (compensation): {orderId} -> {releasedLines: [{sku, warehouseId, quantity}]}."""

from __future__ import annotations

from functools import cache, partial
from typing import Any, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.release_stock import logic
from lambdas.shared import constants
from lambdas.shared.adapters import inventory
from lambdas.shared.observability import lambda_handler, logger, metrics
from lambdas.shared.settings import text


class Settings(NamedTuple):
    inventory_table: str


@cache
def settings() -> Settings:
    """Read once per container, at its first invocation."""
    return Settings(text(constants.ENV_INVENTORY_TABLE))


@lambda_handler(correlation_id_path="orderId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = logic.release(event, partial(inventory.release_holds, table_name=settings().inventory_table))
    released = sum(line["quantity"] for line in result["releasedLines"])
    metrics.add_metric(name="UnitsReleased", unit=MetricUnit.Count, value=released)
    logger.info("stock released", extra={"lines": len(result["releasedLines"]), "units": released})
    return result
