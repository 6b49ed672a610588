"""PriceOrder task: {order} -> {lines, subtotalCents, taxCents, shippingCents, totalCents, currency}."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.price_order import logic
from lambdas.shared.adapters import inventory
from lambdas.shared.errors import PriceMismatch
from lambdas.shared.observability import lambda_handler, logger, metrics
from lambdas.shared.pricing import pricing_from_env


@lambda_handler(correlation_id_path="order.orderId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    order = event["order"]
    catalog = inventory.get_catalog(line["sku"] for line in order["items"])
    try:
        priced = logic.price(order, catalog, pricing_from_env())
    except PriceMismatch as error:
        # A stale basket or a pricing bug on the site: either way someone should look at the trend.
        metrics.add_metric(name="PriceMismatches", unit=MetricUnit.Count, value=1)
        logger.warning("price mismatch", extra={"reason": str(error)})
        raise
    metrics.add_metric(name="OrdersPriced", unit=MetricUnit.Count, value=1)
    logger.info("order priced", extra={"totalCents": priced["totalCents"], "currency": priced["currency"]})
    return priced
