"""What an order leaves behind: metrics parsed from embedded-metric-format lines, the execution log's records."""

from __future__ import annotations

import json

from bench import footprint, history


def test_emf_lines_name_each_metric_with_its_dimensions():
    line = json.dumps(
        {
            "_aws": {
                "CloudWatchMetrics": [
                    {"Namespace": "Orders", "Dimensions": [["service"]], "Metrics": [{"Name": "A"}, {"Name": "B"}]}
                ]
            },
            "service": "reserve",
            "A": 1,
            "B": 2,
        }
    )
    assert footprint.emf_metrics(line) == {
        ("Orders", "A", ("service=reserve",)),
        ("Orders", "B", ("service=reserve",)),
    }
    assert footprint.emf_metrics("START RequestId: 1") == set()
    assert footprint.emf_metrics('{"level": "INFO"}') == set()


def test_execution_log_records_leave_out_execution_data():
    events = [
        {
            "id": 1,
            "type": "ExecutionStarted",
            "previousEventId": 0,
            "timestamp": 1000.0,
            "executionStartedEventDetails": {"input": '{"secret": 1}', "roleArn": "r"},
        },
    ]
    (line,) = history.execution_log_lines(events, "arn:x", "ALL")
    record = json.loads(line)
    assert record["details"] == {"roleArn": "r"}
    assert record["execution_arn"] == "arn:x" and record["type"] == "ExecutionStarted"
    assert footprint.compressed_size([line] * 50) < len(line) * 50


def _events(*types: str) -> list[dict[str, object]]:
    return [{"id": i, "type": t, "previousEventId": i - 1, "timestamp": 1000.0} for i, t in enumerate(types, 1)]


def test_level_error_logs_only_the_failure_events():
    happy = _events("ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskSucceeded", "ExecutionSucceeded")
    assert history.execution_log_lines(happy, "arn:x", "ERROR") == []
    assert len(history.execution_log_lines(happy, "arn:x", "ALL")) == len(happy)
    failed = _events("ExecutionStarted", "TaskFailed", "LambdaFunctionTimedOut", "FailStateEntered", "ExecutionFailed")
    logged = [json.loads(line)["type"] for line in history.execution_log_lines(failed, "arn:x", "ERROR")]
    # ExecutionFailed is what the failed-orders metric filters read (infra/alarms.py).
    assert logged == ["TaskFailed", "LambdaFunctionTimedOut", "FailStateEntered", "ExecutionFailed"]
    assert [json.loads(line)["type"] for line in history.execution_log_lines(failed, "arn:x", "FATAL")] == [
        "ExecutionFailed"
    ]
    assert history.execution_log_lines(failed, "arn:x", "OFF") == []
