"""Counting transitions, Lambda invocations and messages from execution histories."""

from __future__ import annotations

import json

from bench import history


def entered(kind: str, name: str) -> dict:
    return {"type": f"{kind}StateEntered", "stateEnteredEventDetails": {"name": name}}


def scheduled(resource_type: str, resource: str, parameters: dict | None = None) -> dict:
    return {
        "type": "TaskScheduled",
        "taskScheduledEventDetails": {
            "resourceType": resource_type,
            "resource": resource,
            "parameters": json.dumps(parameters or {}),
        },
    }


def lambda_state(name: str) -> list[dict]:
    return [
        entered("Task", name),
        scheduled("lambda", "invoke"),
        {"type": "TaskSucceeded"},
        {"type": "TaskStateExited", "stateExitedEventDetails": {"name": name}},
    ]


def test_happy_path_history_counts_eight_transitions_and_five_lambdas():
    events = [{"type": "ExecutionStarted"}]
    for name in ("ValidateOrder", "ReserveStock", "PriceOrder", "CollectPayment"):
        events += lambda_state(name)
    events += [entered("Choice", "PaymentOutcome"), {"type": "ChoiceStateExited"}]
    events += [entered("Task", "NotifyWarehouse"), scheduled("sqs", "sendMessage", {"MessageBody": {"a": 1}})]
    events += lambda_state("RecordAccounting")
    events += [
        entered("Task", "PublishOrderCompleted"),
        scheduled("events", "putEvents", {"Entries": [{"Detail": {"x": "y"}}]}),
        {"type": "ExecutionSucceeded"},
    ]
    counts = history.count(events)
    assert counts.transitions == 8
    assert counts.lambda_invocations == 5
    assert counts.retries == 0
    assert counts.sqs_requests == 1
    assert counts.eventbridge_events == 1
    assert counts.states[:2] == ["ValidateOrder", "ReserveStock"]
    assert counts.lambda_by_state["RecordAccounting"] == 1


def test_a_retry_is_a_transition_and_another_invocation():
    events = [
        entered("Task", "ReleaseStock"),
        scheduled("lambda", "invoke"),
        {"type": "TaskFailed"},
        scheduled("lambda", "invoke"),
        {"type": "TaskSucceeded"},
    ]
    counts = history.count(events)
    assert (counts.state_entered, counts.retries, counts.transitions) == (1, 1, 2)
    assert counts.lambda_invocations == 2


def test_callback_tasks_and_bare_function_arns_count_as_lambda():
    events = [
        entered("Task", "WaitForPaymentReview"),
        scheduled("lambda", "invoke.waitForTaskToken"),
        entered("Task", "Legacy"),
        {"type": "LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails": {"resource": "arn", "input": "{}"}},
    ]
    assert history.count(events).lambda_invocations == 2


def test_large_messages_are_billed_per_64_kb_chunk():
    body = {"blob": "x" * (70 * 1024)}
    events = [entered("Task", "NotifyWarehouse"), scheduled("sqs", "sendMessage", {"MessageBody": body})]
    assert history.count(events).sqs_requests == 2
