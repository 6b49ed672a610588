"""Manual payment review: the token is parked, a reviewer's decision resumes a real (moto) execution.

A tiny state machine waits on ``sqs:sendMessage.waitForTaskToken``: that hands the test a real
task token without Lambda, and the execution's end state shows what the decision did.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.credentials import Credentials
from moto import mock_aws

from lambdas.collect_payment import handler as collect_handler
from lambdas.decide_payment_review import handler as decide_handler
from lambdas.decide_payment_review import identity, logic
from lambdas.shared import constants
from lambdas.shared.adapters.payments import PaymentsTable, ReviewCallbacks
from lambdas.shared.errors import InvalidOrder, ReviewDecisionError
from lambdas.wait_for_payment_review import handler as request_handler
from lambdas.wait_for_payment_review.logic import NotAwaitingReview
from tests.unit.payment_support import (
    ORDER_ID,
    capture_bus,
    captured,
    charge_event,
    install_gateway,
    invoke,
    payment,
)

ROLE_ARN = "arn:aws:iam::123456789012:role/test-workflow"


@pytest.fixture
def aws() -> Iterator[None]:
    """Overrides conftest's account: this one runs Step Functions executions."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield


@pytest.fixture(autouse=True)
def state_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stack sets STATE_MACHINE_ARN on the decision function; `workflow` names a running one."""
    monkeypatch.setenv(
        constants.ENV_STATE_MACHINE_ARN, "arn:aws:states:eu-west-1:123456789012:stateMachine:no-such-workflow"
    )


@pytest.fixture
def bus(tables: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> str:
    return capture_bus(monkeypatch)


class Workflow:
    """A state machine with one task that waits for a token, like WaitForPaymentReview."""

    def __init__(self, timeout_seconds: int = 60) -> None:
        self.sqs, self.sfn = boto3.client("sqs"), boto3.client("stepfunctions")
        self.queue_url = self.sqs.create_queue(QueueName=f"review-tokens-{timeout_seconds}")["QueueUrl"]
        wait = {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": self.queue_url, "MessageBody": {"taskToken.$": "$$.Task.Token"}},
            "TimeoutSeconds": timeout_seconds,
            "ResultPath": "$.review",
            "End": True,
        }
        definition = {"StartAt": "WaitForPaymentReview", "States": {"WaitForPaymentReview": wait}}
        self.arn = self.sfn.create_state_machine(
            name=f"review-{timeout_seconds}", definition=json.dumps(definition), roleArn=ROLE_ARN
        )["stateMachineArn"]

    def start(self, order_id: str = ORDER_ID) -> tuple[str, str]:
        """Start an execution; returns its ARN and the task token it waits on."""
        execution = self.sfn.start_execution(
            stateMachineArn=self.arn, name=order_id, input=json.dumps({"orderId": order_id})
        )["executionArn"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url).get("Messages")
            if messages:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
                return execution, json.loads(messages[0]["Body"])["taskToken"]
            time.sleep(0.02)
        raise AssertionError("the execution never reached its waiting task")

    def finished(self, execution: str) -> dict[str, Any]:
        deadline = time.monotonic() + 10
        while (described := self.sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "execution still running"
            time.sleep(0.02)
        return described


@pytest.fixture
def workflow(bus: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workflow]:
    flow = Workflow()
    # The decision function finds the order's execution (named after the order) through this.
    monkeypatch.setenv(constants.ENV_STATE_MACHINE_ARN, flow.arn)
    yield flow
    # No execution may outlive its test (its thread would wait for a token nobody sends).
    for execution in flow.sfn.list_executions(stateMachineArn=flow.arn, statusFilter="RUNNING")["executions"]:
        flow.sfn.stop_execution(executionArn=execution["executionArn"])


def review_pending(monkeypatch: pytest.MonkeyPatch, order_id: str = ORDER_ID) -> None:
    """CollectPayment puts an order into review (the token rule of the simulated gateway)."""
    install_gateway(monkeypatch, collect_handler)
    assert invoke(collect_handler.handler, charge_event(order_id, token="tok_review"))["status"] == "REVIEW"


def review_waiting_on_a_short_timeout(monkeypatch: pytest.MonkeyPatch, seconds: int) -> tuple[Workflow, str]:
    """An order in review whose task times out after ``seconds`` (its own workflow: not the fixture's hour)."""
    flow = Workflow(timeout_seconds=seconds)
    monkeypatch.setenv(constants.ENV_STATE_MACHINE_ARN, flow.arn)
    review_pending(monkeypatch)
    execution, token = flow.start()
    invoke(request_handler.handler, request_event(token, timeout_seconds=seconds))
    return flow, execution


def request_event(token: str, order_id: str = ORDER_ID, timeout_seconds: int = 3600) -> dict[str, Any]:
    """WaitForPaymentReview's payload, as the ASL builds it."""
    return {
        "orderId": order_id,
        "customerId": "cust-42",
        "channel": "web",
        "amountCents": 2974,
        "currency": "EUR",
        "taskToken": token,
        "timeoutSeconds": timeout_seconds,
    }


def parked(monkeypatch: pytest.MonkeyPatch, workflow: Workflow) -> tuple[str, str]:
    """An order whose execution waits for review, with its token stored: what a reviewer finds."""
    review_pending(monkeypatch)
    execution, token = workflow.start()
    invoke(request_handler.handler, request_event(token))
    return execution, token


REVIEWERS = ("grace", "ada")
ACCOUNT = "123456789012"


@pytest.fixture(autouse=True)
def reviewers(aws: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, Credentials]:
    """IAM users grace and ada, the stack's named reviewers (mallory is a user too, but not named)."""
    iam = boto3.client("iam")
    keys = {}
    for user in (*REVIEWERS, "mallory"):
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        keys[user] = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
    monkeypatch.setenv(
        constants.ENV_REVIEWER_PRINCIPALS, json.dumps([f"arn:aws:iam::{ACCOUNT}:user/{u}" for u in REVIEWERS])
    )
    SIGNERS.clear()
    SIGNERS.update(keys)
    return keys


SIGNERS: dict[str, Credentials] = {}


def proof_of(reviewer: str, decision: str, note: str | None = None, order_id: str = ORDER_ID) -> dict[str, str]:
    """What a reviewer's console session sends: GetCallerIdentity signed with their own keys, for this decision."""
    sts = boto3.client("sts")
    recorded = logic.parse({"orderId": order_id, "decision": decision, "note": note, "identityProof": {}})
    return identity.sign(SIGNERS[reviewer], sts.meta.region_name, sts.meta.endpoint_url, recorded.bound_to)


def decide(decision: str = "approve", reviewer: str = "grace", **extra: Any) -> dict[str, Any]:
    event = {"orderId": ORDER_ID, "decision": decision, **extra}
    event.setdefault("identityProof", proof_of(reviewer, decision, extra.get("note")))
    return invoke(decide_handler.handler, event)


# --- wait_for_payment_review -------------------------------------------------------------------


def test_the_token_and_deadline_are_stored_and_the_review_announced(
    monkeypatch: pytest.MonkeyPatch, tables: dict[str, Any], bus: str
) -> None:
    review_pending(monkeypatch)
    before = datetime.now(UTC)
    result = invoke(request_handler.handler, request_event("token-1", timeout_seconds=600))

    item = payment(tables)
    assert item["taskToken"] == "token-1"
    assert item["reviewDeadline"] == result["reviewDeadline"]
    deadline = datetime.fromisoformat(item["reviewDeadline"].replace("Z", "+00:00"))
    assert before + timedelta(seconds=599) <= deadline <= datetime.now(UTC) + timedelta(seconds=601)
    assert item["requestedAt"].endswith("Z")

    [event] = captured(bus)
    assert event["detail-type"] == constants.EVENT_PAYMENT_REVIEW_REQUESTED
    assert event["source"] == constants.EVENT_SOURCE
    assert event["detail"]["metadata"]["producer"] == "payments"
    assert event["detail"]["metadata"]["correlationId"] == ORDER_ID
    assert event["detail"]["data"] == {
        "orderId": ORDER_ID,
        "customerId": "cust-42",
        "channel": "web",
        "amountCents": 2974,
        "currency": "EUR",
        "reviewDeadline": item["reviewDeadline"],
    }
    assert "token-1" not in json.dumps(event)


def test_a_retried_request_stores_the_latest_token(
    monkeypatch: pytest.MonkeyPatch, tables: dict[str, Any], bus: str
) -> None:
    review_pending(monkeypatch)
    invoke(request_handler.handler, request_event("token-1"))
    invoke(request_handler.handler, request_event("token-1"))
    invoke(request_handler.handler, request_event("token-2"))
    assert payment(tables)["taskToken"] == "token-2"
    assert payment(tables)["status"] == "REVIEW_PENDING"
    assert len(captured(bus)) == 3  # at least once: subscribers deduplicate


@pytest.mark.parametrize("stored", [None, "APPROVED", "VOIDED"])
def test_an_order_not_pending_review_cannot_be_parked(tables: dict[str, Any], bus: str, stored: str | None) -> None:
    if stored:
        tables[constants.ENV_PAYMENTS_TABLE].put_item(Item={"orderId": ORDER_ID, "status": stored})
    with pytest.raises(NotAwaitingReview, match=stored or "no payment"):
        invoke(request_handler.handler, request_event("token-1"))
    assert "taskToken" not in (payment(tables) or {})
    assert captured(bus) == []


def test_request_input_is_validated(tables: dict[str, Any], bus: str) -> None:
    with pytest.raises(InvalidOrder, match="'taskToken'"):
        invoke(request_handler.handler, {**request_event("t"), "taskToken": ""})
    with pytest.raises(InvalidOrder, match="'timeoutSeconds'"):
        invoke(request_handler.handler, {**request_event("t"), "timeoutSeconds": "600"})


# --- decide_payment_review --------------------------------------------------------------------


def test_approve_resumes_the_execution_and_records_the_decision(
    monkeypatch: pytest.MonkeyPatch, tables: dict[str, Any], workflow: Workflow
) -> None:
    execution, _ = parked(monkeypatch, workflow)

    result = decide("Approve", note="called the customer")
    assert (result["orderId"], result["decision"], result["reviewer"]) == (ORDER_ID, "APPROVED", "grace")
    assert result["message"] == f"Order {ORDER_ID}: approved by grace at {result['decidedAt']}; the order continues."

    finished = workflow.finished(execution)
    assert finished["status"] == "SUCCEEDED"
    assert json.loads(finished["output"])["review"] == {"decision": "APPROVED", "reviewer": "grace"}
    item = payment(tables)
    assert (item["status"], item["reviewer"], item["reviewNote"]) == ("REVIEW_APPROVED", "grace", "called the customer")
    assert item["decidedAt"] == result["decidedAt"] and item["decidedAt"].endswith("Z")
    assert "taskToken" not in item and item["callbackDelivered"] is True


def test_reject_fails_the_execution_with_the_named_error_and_cause(
    monkeypatch: pytest.MonkeyPatch, tables: dict[str, Any], workflow: Workflow
) -> None:
    execution, token = parked(monkeypatch, workflow)
    sent: list[tuple[str, str, str]] = []
    real_fail = ReviewCallbacks.fail

    def spy(self: ReviewCallbacks, task_token: str, error: str, cause: str) -> None:
        sent.append((task_token, error, cause))  # moto 5.2.5 drops the cause, so it is checked here
        real_fail(self, task_token, error, cause)

    monkeypatch.setattr(ReviewCallbacks, "fail", spy)

    result = decide("REJECTED", reviewer="ada", note="card reported stolen")
    assert result["decision"] == "REJECTED"
    assert "rejected by ada" in result["message"] and "continues" not in result["message"]

    finished = workflow.finished(execution)
    assert finished["status"] == "FAILED"
    assert finished["error"] == constants.ERROR_REVIEW_REJECTED
    assert sent == [(token, constants.ERROR_REVIEW_REJECTED, "Payment review rejected by ada: card reported stolen")]
    assert payment(tables)["status"] == "REVIEW_REJECTED"


def test_a_second_decision_says_who_decided_and_when(
    monkeypatch: pytest.MonkeyPatch, tables: dict[str, Any], workflow: Workflow
) -> None:
    execution, _ = parked(monkeypatch, workflow)
    decide("approve", reviewer="grace")
    workflow.finished(execution)
    recorded = payment(tables)

    with pytest.raises(ReviewDecisionError, match=f"already approved by grace at {recorded['decidedAt']}"):
        decide("reject", reviewer="ada")
    assert payment(tables) == recorded


def test_a_stale_token_after_the_review_timed_out_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, tables: dict[str, Any], bus: str
) -> None:
    flow, execution = review_waiting_on_a_short_timeout(monkeypatch, 1)
    assert flow.finished(execution)["error"] == "States.Timeout"
    before = payment(tables)

    with pytest.raises(ReviewDecisionError, match=r"no longer waiting for this review: the review timed out.*Nothing"):
        decide("approve")
    assert payment(tables) == before


def test_a_decision_after_compensation_voided_the_payment_is_refused(tables: dict[str, Any], bus: str) -> None:
    tables[constants.ENV_PAYMENTS_TABLE].put_item(Item={"orderId": ORDER_ID, "status": "VOIDED"})
    with pytest.raises(ReviewDecisionError, match="not waiting for a payment review: its payment is VOIDED"):
        decide()


def test_an_unknown_order_is_named(tables: dict[str, Any], bus: str) -> None:
    with pytest.raises(ReviewDecisionError, match="No payment found for order 'ord-1001'"):
        decide()


def test_a_review_not_parked_yet_asks_to_retry(monkeypatch: pytest.MonkeyPatch, tables: dict[str, Any]) -> None:
    review_pending(monkeypatch)
    with pytest.raises(ReviewDecisionError, match="try again in a few seconds"):
        decide()
    assert payment(tables)["status"] == "REVIEW_PENDING"


def test_a_rejection_the_workflow_compensates_at_once_keeps_the_compensations_status(
    monkeypatch: pytest.MonkeyPatch, tables: dict[str, Any], workflow: Workflow
) -> None:
    """A rejection fails the execution at once; its RefundPayment may void before it is marked delivered."""
    execution, _ = parked(monkeypatch, workflow)
    real_fail = ReviewCallbacks.fail

    def fail_then_compensate(self: ReviewCallbacks, task_token: str, error: str, cause: str) -> None:
        real_fail(self, task_token, error, cause)
        tables[constants.ENV_PAYMENTS_TABLE].update_item(
            Key={"orderId": ORDER_ID},
            UpdateExpression="SET #s = :v",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":v": "VOIDED"},
        )

    monkeypatch.setattr(ReviewCallbacks, "fail", fail_then_compensate)
    assert decide("reject")["decision"] == "REJECTED"
    assert workflow.finished(execution)["status"] == "FAILED"
    assert payment(tables)["status"] == "VOIDED"


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"decision": "approve"}, "orderId"),
        ({"orderId": ORDER_ID}, "decision"),
        ({"orderId": ORDER_ID, "decision": "maybe"}, "decision"),
        ({"orderId": ORDER_ID, "decision": "approve"}, "identityProof"),
        ({"orderId": ORDER_ID, "decision": "approve", "reviewer": "grace"}, "reviewer"),
        ({"orderId": ORDER_ID, "decision": "approve", "note": 5}, "note"),
    ],
)
def test_decision_input_names_the_field(tables: dict[str, Any], event: dict[str, Any], field: str) -> None:
    with pytest.raises(ReviewDecisionError, match=f"field '{field}'"):
        invoke(decide_handler.handler, event)


# --- a decision interrupted at any point (issue 10, finding 3) --------------------------------


class Crash(Exception):
    """The decision function dies here (a Lambda timeout, an out-of-memory kill)."""


def crash_after_write(monkeypatch: pytest.MonkeyPatch, n: int) -> list[str]:
    """Crash once, right after the decision's ``n``-th write to the payments table or to Step Functions
    (the write itself took effect). Later calls pass through, as in the reviewer's retry."""
    writes: list[str] = []
    for owner, name in ((PaymentsTable, "update"), (ReviewCallbacks, "succeed"), (ReviewCallbacks, "fail")):
        real = getattr(owner, name)

        def write(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            result = _real(*args, **kwargs)
            writes.append(_name)
            if len(writes) == n:
                raise Crash(f"died after write {n} ({_name})")
            return result

        monkeypatch.setattr(owner, name, write)
    return writes


def outcome_of(call: Callable[[], dict[str, Any]]) -> str:
    """What the reviewer reads: the success message, or the refusal."""
    try:
        return str(call()["message"])
    except ReviewDecisionError as refused:
        return refused.message


@pytest.mark.parametrize("decision", ["approve", "reject"])
@pytest.mark.parametrize("crash_after", [1, 2, 3])
def test_a_decision_interrupted_after_any_write_is_completed_truthfully_by_the_retry(
    monkeypatch: pytest.MonkeyPatch, tables: dict[str, Any], workflow: Workflow, decision: str, crash_after: int
) -> None:
    execution, _ = parked(monkeypatch, workflow)
    crash_after_write(monkeypatch, crash_after)
    with pytest.raises(Crash):
        decide(decision, reviewer="grace", note="checked")

    message = outcome_of(lambda: decide(decision, reviewer="grace", note="checked"))

    finished = workflow.finished(execution)
    item = payment(tables)
    assert "taskToken" not in item and item["callbackDelivered"] is True
    assert item["reviewer"] == "grace" and item["reviewNote"] == "checked"
    assert "timed out" not in message
    if decision == "approve":
        assert finished["status"] == "SUCCEEDED"
        assert item["status"] == "REVIEW_APPROVED"
        assert "approved by grace" in message and "the order continues" in message
    else:
        assert (finished["status"], finished["error"]) == ("FAILED", constants.ERROR_REVIEW_REJECTED)
        assert item["status"] == "REVIEW_REJECTED"
        assert "rejected by grace" in message and "continues" not in message


def test_another_decision_after_a_recorded_one_is_refused_and_the_first_is_completed(
    monkeypatch: pytest.MonkeyPatch, tables: dict[str, Any], workflow: Workflow
) -> None:
    execution, _ = parked(monkeypatch, workflow)
    crash_after_write(monkeypatch, 1)
    with pytest.raises(Crash):
        decide("approve", reviewer="grace")
    recorded = payment(tables)

    with pytest.raises(ReviewDecisionError) as refused:
        decide("reject", reviewer="ada", note="looks odd")
    assert f"already approved by grace at {recorded['decidedAt']}" in refused.value.message
    assert payment(tables) == recorded

    # Whoever retries the recorded decision completes it, in the name of who made it.
    result = decide("approve", reviewer="ada")
    assert (result["decision"], result["reviewer"]) == ("APPROVED", "grace")
    finished = workflow.finished(execution)
    assert finished["status"] == "SUCCEEDED"
    assert json.loads(finished["output"])["review"] == {"decision": "APPROVED", "reviewer": "grace"}


def test_a_decision_for_an_order_that_ended_otherwise_does_not_claim_a_timeout(
    monkeypatch: pytest.MonkeyPatch, tables: dict[str, Any], workflow: Workflow
) -> None:
    execution, token = parked(monkeypatch, workflow)
    workflow.sfn.send_task_failure(taskToken=token, error="Ops.Cancelled", cause="cancelled by the shop")
    assert workflow.finished(execution)["status"] == "FAILED"
    before = payment(tables)

    with pytest.raises(ReviewDecisionError) as refused:
        decide("approve")
    assert "timed out" not in refused.value.message
    assert "its review task failed (Ops.Cancelled)" in refused.value.message
    assert "Nothing was changed" in refused.value.message
    assert payment(tables) == before


def test_a_timeout_between_the_check_and_the_callback_leaves_the_review_as_it_was(
    monkeypatch: pytest.MonkeyPatch, tables: dict[str, Any], bus: str
) -> None:
    """The task waited when the decision was recorded and had timed out when it was sent: nothing stays."""
    flow, execution = review_waiting_on_a_short_timeout(monkeypatch, 2)
    before = payment(tables)
    real_update = PaymentsTable.update
    recorded: list[str] = []

    def record_then_time_out(self: PaymentsTable, *args: Any, **kwargs: Any) -> bool:
        written = real_update(self, *args, **kwargs)
        if not recorded:
            recorded.append(payment(tables)["status"])
            flow.finished(execution)  # the review times out right after the decision is recorded
        return written

    monkeypatch.setattr(PaymentsTable, "update", record_then_time_out)
    with pytest.raises(ReviewDecisionError, match=r"no longer waiting for this review: the review timed out.*Nothing"):
        decide("approve")
    assert recorded == ["REVIEW_APPROVED"]  # the window was reached
    assert payment(tables) == before


# --- who decides (issue 11, finding 1) and what they typed (finding 6) ----------------------------


def test_the_reviewer_recorded_is_who_signed_the_proof(
    monkeypatch: pytest.MonkeyPatch, tables: dict[str, Any], workflow: Workflow
) -> None:
    execution, _ = parked(monkeypatch, workflow)
    result = decide("approve", reviewer="ada")
    assert result["reviewer"] == "ada"
    item = payment(tables)
    assert (item["reviewer"], item["reviewerArn"]) == ("ada", f"arn:aws:iam::{ACCOUNT}:user/ada")
    assert workflow.finished(execution)["status"] == "SUCCEEDED"


def test_a_payload_naming_its_reviewer_is_refused_even_with_a_valid_proof(
    monkeypatch: pytest.MonkeyPatch, tables: dict[str, Any], workflow: Workflow
) -> None:
    parked(monkeypatch, workflow)
    before = payment(tables)
    with pytest.raises(ReviewDecisionError, match="'reviewer' is not accepted"):
        invoke(
            decide_handler.handler,
            {
                "orderId": ORDER_ID,
                "decision": "approve",
                "reviewer": "ceo@example.com",
                "identityProof": proof_of("grace", "approve"),
            },
        )
    assert payment(tables) == before


def test_a_principal_the_stack_does_not_name_cannot_decide(
    monkeypatch: pytest.MonkeyPatch, tables: dict[str, Any], workflow: Workflow
) -> None:
    parked(monkeypatch, workflow)
    before = payment(tables)
    with pytest.raises(ReviewDecisionError, match="user/mallory is not a payment reviewer"):
        decide("approve", reviewer="mallory")
    assert payment(tables) == before


@pytest.mark.parametrize(
    ("signed_for", "sent"),
    [
        (("approve", None, ORDER_ID), ("reject", None)),  # another decision
        (("approve", "checked", ORDER_ID), ("approve", "checked, and more")),  # another note
        (("approve", None, "ord-other"), ("approve", None)),  # another order
    ],
)
def test_a_proof_signed_for_another_decision_decides_nothing(
    monkeypatch: pytest.MonkeyPatch,
    tables: dict[str, Any],
    workflow: Workflow,
    signed_for: tuple[str, str | None, str],
    sent: tuple[str, str | None],
) -> None:
    parked(monkeypatch, workflow)
    before = payment(tables)
    decision, note, order = signed_for
    proof = proof_of("grace", decision, note, order_id=order)
    extra = {"note": sent[1]} if sent[1] else {}
    with pytest.raises(ReviewDecisionError, match="signed for another decision"):
        decide(sent[0], identityProof=proof, **extra)
    assert payment(tables) == before


def test_a_binding_header_outside_the_signature_is_refused(
    monkeypatch: pytest.MonkeyPatch, tables: dict[str, Any], workflow: Workflow
) -> None:
    parked(monkeypatch, workflow)
    proof = proof_of("grace", "approve")
    proof["Authorization"] = proof["Authorization"].replace(";x-order-review", "")
    with pytest.raises(ReviewDecisionError, match="not a SigV4 signature over this decision"):
        decide("approve", identityProof=proof)


def test_free_text_is_normalised_before_it_is_stored_or_sent(
    monkeypatch: pytest.MonkeyPatch, tables: dict[str, Any], workflow: Workflow
) -> None:
    parked(monkeypatch, workflow)
    sent: list[str] = []
    real_fail = ReviewCallbacks.fail

    def spy(self: ReviewCallbacks, task_token: str, error: str, cause: str) -> None:
        sent.append(cause)
        real_fail(self, task_token, error, cause)

    monkeypatch.setattr(ReviewCallbacks, "fail", spy)
    note = "stolen\u202egnp.exe\x00 <script>alert(1)</script>\r\nINFO forged line\u200b"
    decide("reject", reviewer="ada", note=note)
    stored = payment(tables)["reviewNote"]
    assert stored == "stolengnp.exe &lt;script&gt;alert(1)&lt;/script&gt; INFO forged line"
    assert sent == [f"Payment review rejected by ada: {stored}"]
