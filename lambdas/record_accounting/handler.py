"""RecordAccounting task: {orderId, pricing, chargeId} -> {transactionId}."""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.record_accounting import logic
from lambdas.shared import constants
from lambdas.shared.adapters.aws_clients import table
from lambdas.shared.adapters.ledger import LedgerTable
from lambdas.shared.clock import utc_now
from lambdas.shared.observability import lambda_handler, logger, metrics
from lambdas.shared.settings import text


class Settings(NamedTuple):
    ledger_table: str


@cache
def settings() -> Settings:
    """Read once per container, at its first invocation."""
    return Settings(text(constants.ENV_LEDGER_TABLE))


@lambda_handler(correlation_id_path="orderId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = logic.parse(event)
    result = logic.record_sale(request, LedgerTable(table(settings().ledger_table)), utc_now())
    logger.info("sale booked", extra={"transactionId": result["transactionId"], "amountCents": request.total_cents})
    # Business metrics, added only once the sale is booked: Step Functions retries this task only
    # when an attempt failed, so an order counts once (a timed-out attempt is killed unflushed).
    metrics.add_metric(name=constants.METRIC_ORDERS_COMPLETED, unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=constants.METRIC_REVENUE_CENTS, unit=MetricUnit.Count, value=request.total_cents)
    return result
