"""PriceOrder task: {order} -> {lines, subtotalCents, taxCents, shippingCents, totalCents, currency}."""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.price_order import logic
from lambdas.shared import constants
from lambdas.shared.adapters import inventory
from lambdas.shared.errors import PriceMismatch
from lambdas.shared.observability import lambda_handler, logger, metrics
from lambdas.shared.pricing import Pricing, pricing_from_env
from lambdas.shared.settings import text


class Settings(NamedTuple):
    inventory_table: str
    pricing: Pricing


@cache
def settings() -> Settings:
    """Read once per container, at its first invocation."""
    return Settings(text(constants.ENV_INVENTORY_TABLE), pricing_from_env())


@lambda_handler(correlation_id_path="order.orderId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    s = settings()
    order = event["order"]
    catalog = inventory.get_catalog((line["sku"] for line in order["items"]), table_name=s.inventory_table)
    try:
        priced = logic.price(order, catalog, s.pricing)
    except PriceMismatch as error:
        # A stale basket or a pricing bug on the site: either way someone should look at the trend.
        metrics.add_metric(name="PriceMismatches", unit=MetricUnit.Count, value=1)
        logger.warning("price mismatch", extra={"reason": str(error)})
        raise
    metrics.add_metric(name="OrdersPriced", unit=MetricUnit.Count, value=1)
    logger.info("order priced", extra={"totalCents": priced["totalCents"], "currency": priced["currency"]})
    return priced
