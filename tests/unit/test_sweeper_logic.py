"""The sweeper's pure decisions: what is stuck, what repairs it, and what is left to a person."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from infra import names
from lambdas.shared import constants
from lambdas.shared.payment_status import CHARGING, REVIEW_PENDING
from lambdas.sweeper import logic
from lambdas.sweeper.logic import Action, Execution, Kind, OrderItems

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(hours=1)
ASL = json.loads(Path(names.ASL_FILE).read_text())


def entered(name: str, document: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": name, "input": json.dumps(document or {})}}


def exited(name: str) -> dict[str, Any]:
    return {"type": "TaskStateExited", "stateExitedEventDetails": {"name": name}}


def scheduled(resource_type: str, resource: str, parameters: dict[str, Any]) -> dict[str, Any]:
    details = {"resourceType": resource_type, "resource": resource, "parameters": json.dumps(parameters)}
    return {"type": "TaskScheduled", "taskScheduledEventDetails": details}


STALLED = [
    entered("NotifyWarehouse"),
    exited("NotifyWarehouse"),
    entered("RecordAccounting"),
    {"type": "TaskFailed"},
    {"type": "ExecutionFailed"},
]


def test_the_state_an_execution_stopped_in_is_the_last_entered_without_exit() -> None:
    assert logic.unfinished_state(STALLED) == "RecordAccounting"
    assert logic.committed(STALLED)
    refused = [entered("ValidateOrder"), exited("ValidateOrder"), entered("RejectOrder")]
    assert logic.unfinished_state(refused) == "RejectOrder"
    assert not logic.committed(refused)
    assert logic.unfinished_state([]) is None


def test_compensation_left_names_each_failed_step_with_what_the_workflow_scheduled() -> None:
    refund = {"FunctionName": "arn:refund", "Payload": {"orderId": "o-1"}}
    publish = {"Entries": [{"DetailType": "OrderFailed", "Detail": {"data": {"orderId": "o-1"}}}]}
    compensation = {
        "refundPayment": {"Error": "RuntimeError", "Cause": "boom"},
        "releaseStock": {"releasedLines": []},
        "publishOrderFailed": {"Error": "EventBridge.ResourceNotFoundException", "Cause": "no bus"},
    }
    history = [
        entered("RefundPayment", {"failure": {"Error": "Order.PaymentDeclined"}}),
        scheduled("lambda", "invoke", refund),
        entered("ReleaseStock"),
        scheduled("lambda", "invoke", {"FunctionName": "arn:release"}),
        entered("PublishOrderFailed"),
        scheduled("events", "putEvents", publish),
        entered("CompensationFailed", {"failure": {"Error": "Order.PaymentDeclined"}, "compensation": compensation}),
    ]
    left = logic.compensation_left(history)
    assert left.original_error == "Order.PaymentDeclined"
    assert [(s.name, s.state, s.error, s.resource) for s in left.steps] == [
        ("refundPayment", "RefundPayment", "RuntimeError", "lambda:invoke"),
        ("publishOrderFailed", "PublishOrderFailed", "EventBridge.ResourceNotFoundException", "events:putEvents"),
    ]
    assert left.steps[0].parameters == refund and left.steps[1].parameters == publish


def test_the_states_and_paths_the_sweeper_relies_on_are_the_workflows() -> None:
    states = ASL["States"]
    for step, state in logic.COMPENSATION_STEPS.items():
        assert states[state]["ResultPath"] in (f"$.compensation.{step}", None)  # a success writes it, or nothing
        assert {c["ResultPath"] for c in states[state]["Catch"]} == {f"$.compensation.{step}"}
    for state in logic.POST_COMMIT_STATES:
        assert "Catch" not in states[state], f"{state} must stop the execution where it failed (redrive)"
    assert states["CancelShipment"]["Parameters"]["MessageDeduplicationId.$"] == (
        "States.Format('{}-cancel', $.order.orderId)"
    )
    functions = logic.task_functions(json.dumps(ASL))
    assert functions[logic.REFUND_STATE] == "${RefundPaymentFunctionArn}"
    assert functions[logic.RELEASE_STATE] == "${ReleaseStockFunctionArn}"


def test_failed_executions_compensation_failed_is_auto_repaired_a_stall_waits_for_a_person() -> None:
    failed = Execution("o-1", "FAILED", LONG_AGO, constants.ERROR_COMPENSATION_FAILED)
    finding = logic.failed_execution_finding(failed, [], repaired=False)
    assert finding is not None and (finding.kind, finding.action, finding.auto) == (
        Kind.COMPENSATION_FAILED,
        Action.FINISH_COMPENSATION,
        True,
    )
    assert logic.failed_execution_finding(failed, [], repaired=True) is None

    stalled = Execution("o-2", "FAILED", LONG_AGO, "Lambda.ServiceException")
    finding = logic.failed_execution_finding(stalled, STALLED, repaired=False)
    assert finding is not None and (finding.kind, finding.action, finding.auto) == (
        Kind.STALLED_AFTER_COMMIT,
        Action.REDRIVE,
        False,
    )
    assert "RecordAccounting" in finding.detail and "orderctl repair o-2" in finding.hint

    declined = Execution("o-3", "FAILED", LONG_AGO, constants.ERROR_PAYMENT_DECLINED)
    assert logic.failed_execution_finding(declined, [entered("FailOrder")], repaired=False) is None
    assert logic.execution_kind(declined, [entered("FailOrder")]) is None


def test_items_of_an_order_that_failed_before_its_commit_point_are_given_back() -> None:
    items = OrderItems("o-1", CHARGING, LONG_AGO, held_lines=2, held_since=LONG_AGO)
    failed = Execution("o-1", "FAILED", LONG_AGO, constants.ERROR_PAYMENT_DECLINED)
    found = logic.item_findings(items, failed, is_committed=False, covered=False, now=NOW)
    assert [(f.kind, f.action, f.auto) for f in found] == [
        (Kind.PAYMENT_CHARGING, Action.VOID_PAYMENT, True),
        (Kind.STOCK_HELD, Action.RELEASE_STOCK, True),
    ]
    no_execution = logic.item_findings(items, None, is_committed=False, covered=False, now=NOW)
    assert [f.action for f in no_execution] == [Action.VOID_PAYMENT, Action.RELEASE_STOCK]


def test_nothing_is_touched_while_running_within_the_grace_period_or_covered() -> None:
    items = OrderItems("o-1", REVIEW_PENDING, LONG_AGO, held_lines=1, held_since=LONG_AGO)
    running = Execution("o-1", "RUNNING")
    assert logic.item_findings(items, running, False, False, NOW) == []
    assert logic.item_findings(items, running, False, False, NOW, ignore_grace=True) == []
    just_ended = Execution("o-1", "FAILED", NOW - timedelta(seconds=logic.GRACE_SECONDS - 1))
    assert logic.item_findings(items, just_ended, False, False, NOW) == []
    assert len(logic.item_findings(items, just_ended, False, False, NOW, ignore_grace=True)) == 2
    assert logic.item_findings(items, Execution("o-1", "FAILED", LONG_AGO), False, True, NOW) == []


def test_after_the_commit_point_nothing_is_given_back_a_person_is_told() -> None:
    items = OrderItems("o-1", REVIEW_PENDING, LONG_AGO, held_lines=1, held_since=LONG_AGO)
    completed = Execution("o-1", "SUCCEEDED", LONG_AGO)
    found = logic.item_findings(items, completed, is_committed=True, covered=False, now=NOW)
    # The hold is the inventory subscriber's to sell, for as long as EventBridge may still deliver.
    assert [(f.kind, f.action) for f in found] == [(Kind.REVIEW_PENDING, None)]
    later = NOW + timedelta(seconds=logic.COMPLETED_HOLD_GRACE_SECONDS)
    found = logic.item_findings(items, completed, is_committed=True, covered=False, now=later)
    assert [(f.kind, f.action) for f in found] == [(Kind.REVIEW_PENDING, None), (Kind.STOCK_HELD, None)]
    assert "redrive inventory" in found[1].hint
    aborted_after_commit = Execution("o-1", "ABORTED", LONG_AGO)
    found = logic.item_findings(items, aborted_after_commit, is_committed=True, covered=False, now=later)
    assert all(f.action is None for f in found)


@pytest.mark.parametrize(
    ("lease_until", "claimed_at", "reported", "hint"),
    [
        (int(NOW.timestamp()) - 60, 0, False, None),  # lease passed a minute ago: a retry may still come
        (int(LONG_AGO.timestamp()), 0, True, "SES may have sent it"),
        (0, int(LONG_AGO.timestamp()), True, "SES never took the message"),
        (0, int(NOW.timestamp()) - 5, False, None),  # released just now: its retry claims it again
    ],
)
def test_an_expired_send_claim_is_reported_never_resent(
    lease_until: int, claimed_at: int, reported: bool, hint: str | None
) -> None:
    finding = logic.claim_finding("o-1", lease_until, claimed_at, NOW)
    assert (finding is not None) == reported
    if finding is not None:
        assert finding.action is None and hint is not None and hint in finding.hint
        assert "orderctl redrive notifications" in finding.hint
        assert finding.detail.startswith("confirmation e-mail claimed")


def test_an_expired_tracking_email_claim_is_reported_as_the_tracking_email() -> None:
    finding = logic.claim_finding("o-1", 0, int(LONG_AGO.timestamp()), NOW, "TRACKING")
    assert finding is not None and finding.kind is Kind.SEND_CLAIM_EXPIRED and finding.action is None
    assert finding.detail.startswith("tracking e-mail (ShipmentAssigned) claimed") and "SES never took" in finding.hint


def test_metrics_count_what_is_left_per_kind_every_run() -> None:
    stuck = logic.Finding(Kind.STOCK_HELD, "o-1", "held", Action.RELEASE_STOCK)
    stall = logic.Finding(Kind.STALLED_AFTER_COMMIT, "o-2", "stalled", Action.REDRIVE)
    values = logic.metric_values([logic.Outcome(stuck, repaired=True), logic.Outcome(stall)])
    assert values[logic.METRICS[Kind.STALLED_AFTER_COMMIT]] == 1
    assert values[logic.METRICS[Kind.STOCK_HELD]] == 0
    assert values[logic.METRIC_REPAIRED] == 1
    assert set(values) == {*logic.METRICS.values(), logic.METRIC_REPAIRED}
    assert logic.metric_values([]) == dict.fromkeys(values, 0.0)
    assert {Action.RELEASE_STOCK, Action.VOID_PAYMENT, Action.FINISH_COMPENSATION} == logic.AUTO_REPAIR


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_task_functions_are_found_in_every_partition(partition: str) -> None:
    task = {"Type": "Task", "Resource": f"arn:{partition}:states:::lambda:invoke", "Parameters": {"FunctionName": "f"}}
    assert logic.task_functions(json.dumps({"States": {"RefundPayment": task}})) == {"RefundPayment": "f"}
