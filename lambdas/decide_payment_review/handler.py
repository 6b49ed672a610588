"""Reviewer's function, run from the Lambda console: {"orderId", "decision": "approve"|"reject", "reviewer",
"note"?} -> {orderId, decision, reviewer}. Errors are ReviewDecisionError with a message for the reviewer."""

from __future__ import annotations

from typing import Any

from lambdas.decide_payment_review import logic
from lambdas.shared.adapters.aws_clients import client, table
from lambdas.shared.adapters.payments import PaymentsTable, ReviewCallbacks
from lambdas.shared.observability import lambda_handler, logger
from lambdas.shared.payment_inputs import utc_now
from lambdas.shared.settings import ReviewSettings, cold_start

settings = cold_start(ReviewSettings.from_env, __name__)


@lambda_handler(correlation_id_path="orderId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    s = settings()
    decision = logic.parse(event)
    callbacks = ReviewCallbacks(client("stepfunctions"), s.state_machine_arn)
    result = logic.decide(decision, PaymentsTable(table(s.payments_table)), callbacks, utc_now())
    logger.info("payment review decided", extra={"decision": result["decision"], "reviewer": result["reviewer"]})
    return result
