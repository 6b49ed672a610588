"""ValidateOrder task: {order: the raw execution input, executionName} -> the normalised order (docs/CONTRACTS.md)."""

from __future__ import annotations

from functools import cache, partial
from typing import Any, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.shared import constants
from lambdas.shared.adapters import inventory
from lambdas.shared.errors import InvalidOrder
from lambdas.shared.observability import lambda_handler, logger, metrics
from lambdas.shared.pricing import pricing_from_env
from lambdas.shared.settings import text
from lambdas.validate_order import logic


class Settings(NamedTuple):
    inventory_table: str
    currency: str  # the shop's (PRICING_JSON)


@cache
def settings() -> Settings:
    """Read once per container, at its first invocation."""
    return Settings(text(constants.ENV_INVENTORY_TABLE), pricing_from_env().currency)


@lambda_handler(correlation_id_path="order.orderId")
def handler(event: Any, context: Any) -> dict[str, Any]:
    s = settings()
    try:
        order = logic.validate_task(event, s.currency, partial(inventory.get_catalog, table_name=s.inventory_table))
    except InvalidOrder as error:
        # Rejections are a business outcome worth a graph, not an operational error.
        metrics.add_metric(name="OrdersRejected", unit=MetricUnit.Count, value=1)
        logger.info("order rejected", extra={"reason": str(error)})
        raise
    metrics.add_metric(name="OrdersValidated", unit=MetricUnit.Count, value=1)
    logger.info("order valid", extra={"lines": len(order["items"]), "siteVariant": order["siteVariant"]})
    return order
