"""Reviewer's function, run from the Lambda console: {"orderId", "decision": "approve"|"reject", "reviewer",
"note"?} -> {orderId, decision, reviewer}. Errors are ReviewDecisionError with a message for the reviewer."""

from __future__ import annotations

from typing import Any

from lambdas.decide_payment_review import logic
from lambdas.shared.adapters.payments import PaymentsTable, ReviewCallbacks
from lambdas.shared.observability import lambda_handler, logger
from lambdas.shared.payment_inputs import utc_now


@lambda_handler(correlation_id_path="orderId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    decision = logic.parse(event)
    result = logic.decide(decision, PaymentsTable.from_env(), ReviewCallbacks.from_env(), utc_now())
    logger.info("payment review decided", extra={"decision": result["decision"], "reviewer": result["reviewer"]})
    return result
