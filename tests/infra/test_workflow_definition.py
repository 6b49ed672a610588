"""The ASL in statemachines/: valid, wired to the template, and robust by construction."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra import names
from infra.workflow import in_stack_partition
from lambdas.shared import constants
from tests.asl_paths import approved_path
from tests.reliability.model import STEPS
from tests.synth import Synthesized

ROOT = Path(__file__).resolve().parents[2]
ASL_PATH = ROOT / names.ASL_FILE
ASL: dict[str, Any] = json.loads(ASL_PATH.read_text())
STATES: dict[str, dict[str, Any]] = ASL["States"]
TASKS = {name: s for name, s in STATES.items() if s["Type"] == "Task"}
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")
LAMBDA_THROTTLED = "Lambda.TooManyRequestsException"
TRANSIENT_LAMBDA_ERRORS = {"Lambda.ServiceException", LAMBDA_THROTTLED, "Lambda.SdkClientException"}
# A DynamoDB throttle a function could not retry away (boto3 retries a throttled write, the adapters a cancelled
# transaction: lambdas/shared/adapters/dynamo.py), surfacing as its error type: throttling too, retried with Lambda's
# (it clears with time), never a business failure (a hot product's stock item over its partition's write limit must
# not fail the order).
DYNAMODB_THROTTLED_IN_FUNCTION = {
    "TransactionCanceledException",
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
}
# Throttling's own Retry waits longer than any other; still bounded: its longest total back-off, in seconds.
THROTTLE_MAX_ATTEMPTS = 20
THROTTLE_MAX_TOTAL_SECONDS = 2 * 3600
# What a step the README says retries "transient" errors must retry at least, by the service its Task calls.
TRANSIENT_ERRORS = {
    "lambda": TRANSIENT_LAMBDA_ERRORS | DYNAMODB_THROTTLED_IN_FUNCTION | {"Sandbox.Timedout"},
    "dynamodb": {
        "DynamoDB.InternalServerErrorException",
        "DynamoDB.ProvisionedThroughputExceededException",
        "DynamoDB.RequestLimitExceeded",
        "DynamoDB.ThrottlingException",
    },
}
# After the commit point (the warehouse was told to ship) nothing is undone: these steps have no Catch.
COMMITTED = {"RecordAccounting", "PublishOrderCompleted"}
COMPENSATION = ["CancelShipment", "RefundPayment", "ReleaseStock", "PublishOrderFailed"]


def _state_machine(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.one("AWS::StepFunctions::StateMachine")["Properties"]


def test_asl_validator_accepts_the_definition() -> None:
    npx = shutil.which("npx")
    if npx is None or not (ROOT / "node_modules" / ".bin" / "asl-validator").exists():
        pytest.fail("asl-validator is not installed: run `make setup` (npm ci)")
    result = subprocess.run(
        [npx, "--no-install", "asl-validator", "--json-path", str(ASL_PATH)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_placeholders_equal_the_substitution_keys(synthesized: Synthesized) -> None:
    props = _state_machine(synthesized)
    placeholders = set(PLACEHOLDER.findall(ASL_PATH.read_text()))
    # Besides the ASL's own, one per service integration: its resource in the stack's partition.
    _, integrations = in_stack_partition(ASL_PATH.read_text(), "aws")
    assert placeholders | set(integrations) == set(props["DefinitionSubstitutions"])
    assert not placeholders & set(integrations)


def test_definition_is_inline_in_the_template(synthesized: Synthesized) -> None:
    props = _state_machine(synthesized)
    assert json.loads(props["DefinitionString"]) == json.loads(in_stack_partition(ASL_PATH.read_text(), "aws")[0])
    assert props["StateMachineType"] == "STANDARD"
    assert props["LoggingConfiguration"]["Level"] == "ERROR"
    assert props["TracingConfiguration"] == {"Enabled": True}


def test_written_in_jsonpath_only() -> None:
    # moto (the offline sandbox) does not evaluate JSONata or Variables.
    text = ASL_PATH.read_text()
    assert "QueryLanguage" not in ASL
    assert '"Assign"' not in text and '"Arguments"' not in text and '"Output"' not in text


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_task_has_retry_and_timeout_and_a_catch_unless_committed(name: str) -> None:
    state = TASKS[name]
    assert "TimeoutSeconds" in state or "TimeoutSecondsPath" in state, f"{name} has no timeout"
    if name in COMMITTED:
        # A Catch would end the execution in another state; a redrive restarts from the state that
        # did not exit, so without one it re-runs exactly this step.
        assert "Catch" not in state, f"{name} is after the commit point: it must not be caught"
    else:
        assert state.get("Catch"), f"{name} has no Catch"
    retries = state.get("Retry")
    assert retries, f"{name} has no Retry"
    for retry in retries:
        assert retry.get("JitterStrategy") == "FULL", f"{name}: retries without jitter"
        most = THROTTLE_MAX_ATTEMPTS if _throttles(retry) else 10
        assert 1 <= retry["MaxAttempts"] <= most, f"{name}: retry budget must be bounded"
        assert retry.get("MaxDelaySeconds", 0) > 0, f"{name}: back-off must be capped"
        assert _longest_back_off(retry) <= THROTTLE_MAX_TOTAL_SECONDS, f"{name}: retries for hours"
    if state["Resource"].startswith("arn:aws:states:::lambda:invoke"):
        retried = {e for r in retries for e in r["ErrorEquals"]}
        assert retried >= TRANSIENT_LAMBDA_ERRORS or "States.ALL" in retried, name


def _longest_back_off(retry: dict[str, Any]) -> float:
    """The longest an execution can spend backing off under this Retry (FULL jitter waits at most this)."""
    interval, rate, cap = retry.get("IntervalSeconds", 1), retry.get("BackoffRate", 2.0), retry["MaxDelaySeconds"]
    return float(sum(min(interval * rate**n, cap) for n in range(retry["MaxAttempts"])))


def _throttle_retrier(state: dict[str, Any]) -> dict[str, Any] | None:
    return next((r for r in state["Retry"] if _throttles(r)), None)


def _throttles(retry: dict[str, Any]) -> bool:
    """Throttling's own Retry: Lambda's 429 and, in a Lambda task, a DynamoDB throttle surfacing from the function."""
    return LAMBDA_THROTTLED in retry["ErrorEquals"] and set(retry["ErrorEquals"]) <= {
        LAMBDA_THROTTLED,
        *DYNAMODB_THROTTLED_IN_FUNCTION,
    }


def test_a_lambda_tasks_throttling_retry_takes_dynamodbs_throttles_too() -> None:
    for name, state in TASKS.items():
        throttle = _throttle_retrier(state)
        if throttle is not None and state["Resource"].startswith("arn:aws:states:::lambda:invoke"):
            assert set(throttle["ErrorEquals"]) == {LAMBDA_THROTTLED, *DYNAMODB_THROTTLED_IN_FUNCTION}, name


@pytest.mark.parametrize(
    "name", sorted(n for n, s in TASKS.items() if s["Resource"].startswith("arn:aws:states:::lambda:invoke"))
)
def test_lambda_throttling_has_its_own_retry_first_and_longer_than_the_others(name: str) -> None:
    # Throttling clears as running invocations finish (a capped account in a flash sale): it waits
    # longer than a service error, and it must come first (the first retrier that matches applies).
    state = TASKS[name]
    throttled = _throttle_retrier(state)
    assert throttled is not None and state["Retry"][0] is throttled, f"{name}: no Retry of its own for throttling"
    others = state["Retry"][1:]
    assert all(LAMBDA_THROTTLED not in r["ErrorEquals"] for r in others), name
    assert all(_longest_back_off(throttled) > _longest_back_off(r) for r in others), name
    assert all(throttled["MaxAttempts"] >= r["MaxAttempts"] for r in others), name


def test_compensation_waits_out_throttling_longest() -> None:
    # Giving up there leaves an order half undone for a repair: the longest budget of all.
    forward = [TASKS[s.state] for s in STEPS.values() if s.when_spent.startswith(("reject", "compensate"))]
    forward_longest = max(_longest_back_off(r) for s in forward if (r := _throttle_retrier(s)) is not None)
    for name in COMPENSATION:
        throttled = _throttle_retrier(TASKS[name])
        if throttled is not None:  # a Lambda task (the others are service integrations)
            assert _longest_back_off(throttled) > forward_longest, name


def test_the_readme_table_has_a_row_for_every_retried_task() -> None:
    # A Task retried but missing from the table would escape the check below and the reliability model.
    retried_tasks = {name for name, state in TASKS.items() if state.get("Retry")}
    in_table = {step.state for step in STEPS.values()}
    assert retried_tasks - in_table == set(), "add these to the README's retry table (RETRY-BUDGETS)"
    assert in_table - set(TASKS) == set(), "the README's retry table names states that are not Tasks"


@pytest.mark.parametrize("step", sorted(STEPS.values(), key=lambda s: s.state), ids=lambda s: s.state)
def test_retries_and_what_follows_them_match_the_readme_table(step: Any) -> None:
    # The README's retry table is the specification (the reliability suites read it too).
    state = TASKS[step.state]
    retried = {e for r in state["Retry"] for e in r["ErrorEquals"]}
    throttled = _throttle_retrier(state)
    attempts = {r["MaxAttempts"] for r in state["Retry"] if r is not throttled}
    assert attempts == {step.retries}, f"{step.state}: MaxAttempts {attempts}, the README says {step.retries}"
    throttle_attempts = step.retries if throttled is None else throttled["MaxAttempts"]
    assert throttle_attempts == step.throttle_retries, (
        f"{step.state}: throttled, the README says {step.throttle_retries}"
    )
    integration = not state["Resource"].startswith("arn:aws:states:::lambda:invoke")
    if step.retries_everything:
        assert "States.ALL" in retried or (integration and retried >= {"States.TaskFailed", "States.Timeout"})
    else:
        service = state["Resource"].removeprefix("arn:aws:states:::").split(":")[0]
        assert service in TRANSIENT_ERRORS, f"{step.state}: which errors of {service} are transient?"
        assert "States.ALL" not in retried and retried >= TRANSIENT_ERRORS[service], step.state
        assert ("States.Timeout" in retried) == ("but timeouts" not in step.retried)
    catch_all = next((c["Next"] for c in state.get("Catch", []) if "States.ALL" in c["ErrorEquals"]), None)
    if step.when_spent.startswith("compensate from "):
        assert catch_all == step.when_spent.removeprefix("compensate from ")
    elif step.when_spent.startswith("stop here"):
        assert catch_all is None
    elif step.when_spent.startswith("go on"):
        assert catch_all == state["Next"], f"{step.state}: a failed compensation step must not stop the others"
    else:
        assert step.when_spent.startswith("reject") and catch_all == "NameTheRejection"


def test_compensation_runs_every_step_whatever_happened_before() -> None:
    for name, following in zip(COMPENSATION, [*COMPENSATION[1:], None], strict=True):
        state = STATES[name]
        key = name[0].lower() + name[1:]
        assert [c["ResultPath"] for c in state["Catch"]] == [f"$.compensation.{key}"], name
        if following:  # PublishOrderFailed is reached through NameTheFailure, which names States.* errors
            reached = {state["Next"], *(c["Next"] for c in state["Catch"])}
            assert reached <= {following, "NameTheFailure"}, name
    outcome = STATES["CompensationOutcome"]["Choices"][0]["Or"]
    assert {c["Variable"] for c in outcome} == {f"$.compensation.{n[0].lower() + n[1:]}.Error" for n in COMPENSATION}
    published = STATES["PublishOrderFailed"]["Parameters"]["Entries"][0]["Detail"]["data"]
    assert published["compensation.$"] == "$.compensation"


def test_validate_order_checks_the_execution_is_named_after_the_order() -> None:
    payload = STATES["ValidateOrder"]["Parameters"]["Payload"]
    assert payload == {"order.$": "$", "executionName.$": "$$.Execution.Name"}


def test_domain_errors_are_never_retried() -> None:
    # A declined card or a price mismatch must not be charged/checked again; only the steps the README
    # says retry everything (idempotent by construction, with no Order.* errors of their own) do.
    for name, state in TASKS.items():
        if any(step.state == name and step.retries_everything for step in STEPS.values()):
            continue
        retried = {e for r in state["Retry"] for e in r["ErrorEquals"]}
        assert not any(e.startswith("Order.") for e in retried), name
        assert "States.ALL" not in retried, name


def test_review_waits_for_a_task_token_with_a_timeout() -> None:
    wait = STATES["WaitForPaymentReview"]
    assert wait["Resource"].endswith(".waitForTaskToken")
    assert wait["Parameters"]["Payload"]["taskToken.$"] == "$$.Task.Token"
    assert wait["TimeoutSecondsPath"] == "$.payment.reviewTimeoutSeconds"
    caught = {e for c in wait["Catch"] for e in c["ErrorEquals"]}
    assert "States.Timeout" in caught
    assert "States.Timeout" not in {e for r in wait["Retry"] for e in r["ErrorEquals"]}


def test_happy_path_budget() -> None:
    path = approved_path(STATES, ASL["StartAt"])
    lambdas = [n for n in path if STATES[n].get("Resource", "").startswith("arn:aws:states:::lambda:invoke")]
    assert path == [
        "ValidateOrder",
        "ReserveStock",
        "PriceOrder",
        "CollectPayment",
        "PaymentOutcome",
        "NotifyWarehouse",
        "RecordAccounting",
        "PublishOrderCompleted",
    ]
    assert len(path) <= 9
    assert len(lambdas) <= 5
    assert STATES["NotifyWarehouse"]["Resource"] == "arn:aws:states:::sqs:sendMessage"
    assert STATES["PublishOrderCompleted"]["Resource"] == "arn:aws:states:::events:putEvents"


def test_every_state_is_reachable_and_every_next_exists() -> None:
    targets = {ASL["StartAt"]}
    for state in STATES.values():
        targets.update(filter(None, [state.get("Next"), state.get("Default")]))
        targets.update(c["Next"] for c in state.get("Choices", []) + state.get("Catch", []))
    assert targets == set(STATES)


def test_warehouse_message_is_deduplicated_by_order_id() -> None:
    params = STATES["NotifyWarehouse"]["Parameters"]
    assert params["MessageDeduplicationId.$"] == "$.order.orderId"
    assert params["MessageGroupId.$"] == "$.order.orderId"


def test_failures_end_in_named_errors() -> None:
    # Every failure path ends in a Fail state; the compensation one carries the caught error's name.
    fails = {n: s for n, s in STATES.items() if s["Type"] == "Fail"}
    assert fails["FailOrder"]["ErrorPath"] == "$.failure.Error"
    assert fails["CompensationFailed"]["ErrorPath"] == "$.outcome.Error"
    assert STATES["CompensationIncomplete"]["Parameters"]["Error"] == constants.ERROR_COMPENSATION_FAILED
    assert STATES["StepTimedOut"]["Result"]["Error"] == constants.ERROR_STEP_TIMED_OUT
    assert STATES["StepFailed"]["Parameters"]["Error"] == constants.ERROR_STEP_FAILED
    # No Fail state may report a States.* error: every one is named on the way.
    naming = STATES["NameTheFailure"]["Choices"]
    assert [(c.get("StringEquals"), c.get("StringMatches")) for c in naming] == [
        ("States.Timeout", None),
        (None, "States.*"),
    ]
    assert STATES["ReviewTimedOut"]["Parameters"]["Error"] == constants.ERROR_REVIEW_TIMED_OUT
