"""Trust boundaries in a running sandbox (issue 11): a review token answered by anyone but the decision
path ships nothing; a decision records who signed it; a forged OrderCompleted is refused by subscribers."""

from __future__ import annotations

import json
from typing import Any

from lambdas.shared import constants
from sandbox import demo, observe, scenarios
from sandbox.account import Sandbox
from sandbox.reviewers import decision_payload


def _review_order(sandbox: Sandbox, prefix: str) -> dict[str, Any]:
    catalog = scenarios.load_catalog()
    shop = scenarios.Storefront(catalog, demo.deployed_pricing(sandbox))
    sku = catalog["products"][0]["sku"]
    return shop.order(prefix, [(sku, 1)], "DE", token="tok_review_fraud_screen")


def _token_from_history(history: list[dict[str, Any]]) -> str:
    """What anyone with states:GetExecutionHistory reads: the token in the review task's parameters."""
    for event in history:
        details = event.get("taskScheduledEventDetails") or event.get("lambdaFunctionScheduledEventDetails")
        if details and "taskToken" in details.get("parameters", details.get("input", "")):
            payload = json.loads(details.get("parameters") or details["input"])
            return str(payload.get("Payload", payload)["taskToken"])
    raise AssertionError("no review task in the history")


def test_a_token_answered_outside_the_decision_path_ships_nothing(sandbox: Sandbox) -> None:
    runner = sandbox.runner()
    order = _review_order(sandbox, "forged-review")
    arn = runner.start(order)
    runner.wait_for_task_token(order["orderId"])
    token = _token_from_history(runner.history(arn))

    sandbox.client("stepfunctions").send_task_success(taskToken=token, output=json.dumps({"decision": "APPROVED"}))
    runner.wait([arn])
    result = runner.result(arn)
    assert (result.status, result.error) == ("FAILED", constants.ERROR_REVIEW_NOT_RECORDED)
    assert "NotifyWarehouse" not in result.states
    assert observe.payment(sandbox, order["orderId"])["status"] == "VOIDED"


def test_the_decision_records_the_signed_session_not_a_payload_field(sandbox: Sandbox) -> None:
    runner = sandbox.runner()
    order = _review_order(sandbox, "signed-review")
    arn = runner.start(order)
    runner.wait_for_task_token(order["orderId"])
    forged = {**decision_payload(sandbox, order["orderId"], "approve", "grace"), "reviewer": "ceo@example.com"}
    refused, error = sandbox.invoke(constants.REVIEW_DECISION_HANDLER, forged)
    assert error and "'reviewer' is not accepted" in refused["errorMessage"]

    runner.decide_review(order["orderId"], "approve", "grace")
    runner.wait([arn])
    assert runner.status(arn) == "SUCCEEDED"
    payment = observe.payment(sandbox, order["orderId"])
    assert payment["reviewer"] == "grace" and payment["reviewerArn"].endswith("/grace")
