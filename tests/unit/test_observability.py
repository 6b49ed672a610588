"""The handler decorator publishes the invocation's metrics, and says nothing when there are none."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from aws_lambda_powertools.metrics import MetricUnit

from lambdas.shared.observability import lambda_handler, metrics
from tests.conftest import lambda_context


@lambda_handler(correlation_id_path=None)
def counts_one(event: Any, context: Any) -> str:
    metrics.add_metric(name="Counted", unit=MetricUnit.Count, value=1)
    return "ok"


@lambda_handler(correlation_id_path=None)
def counts_nothing(event: Any, context: Any) -> str:
    return "ok"


def test_recorded_metrics_are_flushed_as_one_emf_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert counts_one({}, lambda_context()) == "ok"
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [m["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] for m in emf] == ["Counted"]
    assert not metrics.provider.metric_set  # nothing carried into the next invocation


def test_an_invocation_without_metrics_publishes_nothing_and_warns_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Powertools' "No application metrics to publish" would raise here
        assert counts_nothing({}, lambda_context()) == "ok"
    assert '"_aws"' not in capsys.readouterr().out
