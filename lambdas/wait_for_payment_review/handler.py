"""WaitForPaymentReview task (.waitForTaskToken): {orderId, customerId, amountCents, currency, taskToken,
timeoutSeconds}. Its return value is ignored: the reviewer's SendTaskSuccess output resumes the order."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.shared import constants
from lambdas.shared.adapters.event_bus import publish
from lambdas.shared.adapters.payments import PaymentsTable
from lambdas.shared.observability import lambda_handler, logger, metrics
from lambdas.shared.payment_inputs import utc_now
from lambdas.wait_for_payment_review import logic


@lambda_handler(correlation_id_path="orderId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = logic.parse(event)
    result = logic.request_review(request, PaymentsTable.from_env(), publish, utc_now())
    logger.info("payment review requested", extra={"reviewDeadline": result["reviewDeadline"]})
    metrics.add_metric(name=constants.METRIC_REVIEWS_REQUESTED, unit=MetricUnit.Count, value=1)
    return result
