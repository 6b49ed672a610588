"""WaitForPaymentReview task (.waitForTaskToken): {orderId, customerId, channel, amountCents, currency,
taskToken, timeoutSeconds}. Its return value is ignored: the reviewer's SendTaskSuccess output resumes the order."""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.shared import constants
from lambdas.shared.adapters.aws_clients import table
from lambdas.shared.adapters.event_bus import EventBus
from lambdas.shared.adapters.payments import PaymentsTable
from lambdas.shared.clock import utc_now
from lambdas.shared.observability import lambda_handler, logger, metrics
from lambdas.shared.settings import text
from lambdas.wait_for_payment_review import logic


class Settings(NamedTuple):
    payments_table: str
    event_bus: str


@cache
def settings() -> Settings:
    """Read once per container, at its first invocation."""
    return Settings(text(constants.ENV_PAYMENTS_TABLE), text(constants.ENV_EVENT_BUS))


@lambda_handler(correlation_id_path="orderId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    s = settings()
    request = logic.parse(event)
    payments = PaymentsTable(table(s.payments_table))
    result = logic.request_review(request, payments, EventBus(s.event_bus).publish, utc_now())
    logger.info("payment review requested", extra={"reviewDeadline": result["reviewDeadline"]})
    metrics.add_metric(name=constants.METRIC_REVIEWS_REQUESTED, unit=MetricUnit.Count, value=1)
    return result
