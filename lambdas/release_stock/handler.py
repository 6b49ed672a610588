"""ReleaseStock task (compensation): {orderId} -> {releasedLines: [{sku, warehouseId, quantity}]}."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.release_stock import logic
from lambdas.shared.adapters import inventory
from lambdas.shared.observability import lambda_handler, logger, metrics


@lambda_handler(correlation_id_path="orderId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = logic.release(event, inventory.release_holds)
    released = sum(line["quantity"] for line in result["releasedLines"])
    metrics.add_metric(name="UnitsReleased", unit=MetricUnit.Count, value=released)
    logger.info("stock released", extra={"lines": len(result["releasedLines"]), "units": released})
    return result
