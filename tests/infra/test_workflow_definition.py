"""The ASL in statemachines/: valid, wired to the template, and robust by construction."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from lambdas.shared import constants
from tests.asl_paths import approved_path
from tests.synth import Synthesized

ROOT = Path(__file__).resolve().parents[2]
ASL_PATH = ROOT / constants.ASL_FILE
ASL: dict[str, Any] = json.loads(ASL_PATH.read_text())
STATES: dict[str, dict[str, Any]] = ASL["States"]
TASKS = {name: s for name, s in STATES.items() if s["Type"] == "Task"}
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")
TRANSIENT_LAMBDA_ERRORS = {"Lambda.ServiceException", "Lambda.TooManyRequestsException", "Lambda.SdkClientException"}


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
    assert placeholders == set(props["DefinitionSubstitutions"])


def test_definition_is_inline_in_the_template(synthesized: Synthesized) -> None:
    props = _state_machine(synthesized)
    assert json.loads(props["DefinitionString"]) == ASL
    assert props["StateMachineType"] == "STANDARD"
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["TracingConfiguration"] == {"Enabled": True}


def test_written_in_jsonpath_only() -> None:
    # moto (the offline sandbox) does not evaluate JSONata or Variables.
    text = ASL_PATH.read_text()
    assert "QueryLanguage" not in ASL
    assert '"Assign"' not in text and '"Arguments"' not in text and '"Output"' not in text


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_task_has_retry_catch_and_timeout(name: str) -> None:
    state = TASKS[name]
    assert "TimeoutSeconds" in state or "TimeoutSecondsPath" in state, f"{name} has no timeout"
    assert state.get("Catch"), f"{name} has no Catch"
    retries = state.get("Retry")
    assert retries, f"{name} has no Retry"
    for retry in retries:
        assert retry.get("JitterStrategy") == "FULL", f"{name}: retries without jitter"
        assert 1 <= retry["MaxAttempts"] <= 6, f"{name}: retry budget must be bounded"
        assert retry.get("MaxDelaySeconds", 0) > 0, f"{name}: back-off must be capped"
    if state["Resource"].startswith("arn:aws:states:::lambda:invoke"):
        retried = {e for r in retries for e in r["ErrorEquals"]}
        assert retried >= TRANSIENT_LAMBDA_ERRORS or "States.ALL" in retried, name


def test_domain_errors_are_never_retried() -> None:
    # A declined card or a price mismatch must not be charged/checked again; only compensation
    # steps (idempotent by construction) retry on every error.
    for name, state in TASKS.items():
        if name in {"RefundPayment", "ReleaseStock", "CancelShipment"}:
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
    assert fails["CompensationFailed"]["Error"] == constants.ERROR_COMPENSATION_FAILED
    assert STATES["ReviewTimedOut"]["Parameters"]["Error"] == constants.ERROR_REVIEW_TIMED_OUT
