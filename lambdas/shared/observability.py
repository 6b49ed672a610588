"""Powertools Logger, Tracer and Metrics, created once per container, and the handler decorator.

Every handler is wrapped the same way: the order id becomes the logger's correlation id,
the invocation is traced, and metrics are flushed when it returns.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from lambdas.shared import constants

logger = Logger(service=constants.SERVICE_NAME)
# Patch only botocore (our only outbound calls): the default patch_all imports every library X-Ray
# supports that happens to be installed (requests, sqlite3, SQLAlchemy...), a cold-start cost for nothing.
tracer = Tracer(service=constants.SERVICE_NAME, patch_modules=("botocore",))
# The namespace is the stage's, from POWERTOOLS_METRICS_NAMESPACE (the stack sets it): two stages in one account
# must not add up each other's orders.
metrics = Metrics(service=constants.SERVICE_NAME)

Handler = Callable[[dict[str, Any], Any], Any]


def lambda_handler(correlation_id_path: str | None = "orderId") -> Callable[[Handler], Handler]:
    """Decorate a handler with correlation-id logging, tracing and metrics flushing.

    ``correlation_id_path`` is a JMESPath into the event that yields the order id.
    """

    def decorate(handler: Handler) -> Handler:
        wrapped = _publish_metrics(handler)
        # Responses stay out of traces: a task's answer carries the order (customer e-mail, address) and
        # X-Ray keeps it 30 days under AWS's key (docs/PRIVACY.md). Errors are kept: their messages never
        # echo an address or e-mail (lambdas/shared/order.py validates with echo=False for those).
        wrapped = tracer.capture_lambda_handler(wrapped, capture_response=False)
        return logger.inject_lambda_context(correlation_id_path=correlation_id_path, clear_state=True)(wrapped)

    return decorate


def _publish_metrics(handler: Handler) -> Handler:
    """Flush the invocation's metrics when it ends, if it recorded any.

    Powertools' ``log_metrics`` warns ("No application metrics to publish") on every invocation that
    recorded none (a rejected order, a duplicate event): a line of noise per invocation in CloudWatch.
    """

    @functools.wraps(handler)
    def wrapped(event: dict[str, Any], context: Any) -> Any:
        try:
            return handler(event, context)
        finally:
            if metrics.provider.metric_set:
                metrics.flush_metrics()

    return wrapped
