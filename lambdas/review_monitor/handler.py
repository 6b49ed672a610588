"""Scheduled (EventBridge rule, every few minutes): reports ReviewsWaiting and OldestReviewWaitSeconds."""

from __future__ import annotations

from typing import Any, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.review_monitor import logic
from lambdas.shared import constants
from lambdas.shared.adapters.aws_clients import client, table
from lambdas.shared.adapters.executions import running_order_ids
from lambdas.shared.adapters.payments import PaymentsTable
from lambdas.shared.clock import utc_now
from lambdas.shared.observability import lambda_handler, logger, metrics
from lambdas.shared.settings import cold_start, text

_UNITS = {constants.METRIC_REVIEWS_WAITING: MetricUnit.Count, constants.METRIC_OLDEST_REVIEW_WAIT: MetricUnit.Seconds}


class ReviewSettings(NamedTuple):
    """What the review monitor reads: the payments table and the workflow."""

    payments_table: str
    state_machine_arn: str

    @classmethod
    def from_env(cls) -> ReviewSettings:
        return cls(text(constants.ENV_PAYMENTS_TABLE), text(constants.ENV_STATE_MACHINE_ARN))


settings = cold_start(ReviewSettings.from_env, __name__)


@lambda_handler(correlation_id_path=None)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    s = settings()
    running = running_order_ids(client("stepfunctions"), s.state_machine_arn)
    reviews = logic.waiting_reviews(running, PaymentsTable(table(s.payments_table)).get_many)
    values = logic.review_metrics(reviews, utc_now())
    for name, value in values.items():
        metrics.add_metric(name=name, unit=_UNITS[name], value=value)
    oldest = reviews[0].order_id if reviews else None
    logger.info("reviews waiting", extra={**values, "oldestOrderId": oldest})
    return {**values, "oldestOrderId": oldest}
