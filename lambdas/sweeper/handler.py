"""Scheduled (EventBridge rule, every logic.SWEEP_INTERVAL_MINUTES): finds stuck orders, repairs the
safe kinds (logic.AUTO_REPAIR; AUTO_REPAIR=false: report only), reports one metric per kind."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.shared.clock import utc_now
from lambdas.shared.observability import lambda_handler, logger, metrics
from lambdas.sweeper import logic, service
from lambdas.sweeper.adapters import SweeperAws, SweeperSettings


@cache
def settings() -> SweeperSettings:
    """Read once per container, at its first invocation."""
    return SweeperSettings.from_env()


@lambda_handler(correlation_id_path=None)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    s = settings()
    actions = logic.AUTO_REPAIR if s.auto_repair else frozenset()
    outcomes = service.sweep(SweeperAws.from_settings(s), utc_now(), actions, by="sweeper")
    for outcome in outcomes:
        logger.warning("stuck order", extra=outcome.as_dict())
    values = logic.metric_values(outcomes)
    for name, value in values.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    logger.info("sweep done", extra={"found": len(outcomes), **values})
    return {"found": len(outcomes), "metrics": values, "outcomes": [o.as_dict() for o in outcomes]}
