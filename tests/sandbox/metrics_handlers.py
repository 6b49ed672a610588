"""Handlers for the reliability tests of the sandbox runtime (imported by path like deployed ones)."""

from __future__ import annotations

import threading
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.shared.observability import lambda_handler, metrics

# The first handler waits here, its metric added, while another invocation flushes its own.
adding_done = threading.Event()
other_flushed = threading.Event()


@lambda_handler(correlation_id_path=None)
def slow_metric(event: Any, context: Any) -> dict[str, Any]:
    metrics.add_metric(name="SlowMetric", unit=MetricUnit.Count, value=1)
    adding_done.set()
    other_flushed.wait(10)
    return {}


@lambda_handler(correlation_id_path=None)
def quick_metric(event: Any, context: Any) -> dict[str, Any]:
    metrics.add_metric(name="QuickMetric", unit=MetricUnit.Count, value=1)
    return {}
