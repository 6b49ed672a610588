"""Reviewer's function, run from the Lambda console or `aws lambda invoke`: {"orderId", "decision":
"approve"|"reject", "note"?, "identityProof"} -> {orderId, decision, reviewer}. The reviewer is whoever
signed identityProof (identity.py), checked by STS and against the stack's reviewer principals; a payload
naming a reviewer is refused. Errors are ReviewDecisionError with a message for the reviewer."""

from __future__ import annotations

from typing import Any, NamedTuple

from lambdas.decide_payment_review import logic
from lambdas.decide_payment_review.adapters import verified_caller
from lambdas.shared import constants
from lambdas.shared.adapters.aws_clients import client, table
from lambdas.shared.adapters.payments import PaymentsTable, ReviewCallbacks
from lambdas.shared.clock import utc_now
from lambdas.shared.observability import lambda_handler, logger
from lambdas.shared.settings import SettingError, cold_start, json_value, text


class DecisionSettings(NamedTuple):
    """The console decision function: the payments table, the workflow and who may decide."""

    payments_table: str
    state_machine_arn: str
    reviewer_principals: tuple[str, ...]

    @classmethod
    def from_env(cls) -> DecisionSettings:
        principals = json_value(constants.ENV_REVIEWER_PRINCIPALS, [])
        if not isinstance(principals, list) or not all(isinstance(p, str) for p in principals):
            raise SettingError(f"environment variable {constants.ENV_REVIEWER_PRINCIPALS} must be a JSON list of ARNs")
        return cls(text(constants.ENV_PAYMENTS_TABLE), text(constants.ENV_STATE_MACHINE_ARN), tuple(principals))


settings = cold_start(DecisionSettings.from_env, __name__)


@lambda_handler(correlation_id_path="orderId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    s = settings()
    request = logic.parse(event)
    decision = logic.reviewer(request, verified_caller, s.reviewer_principals)
    callbacks = ReviewCallbacks(client("stepfunctions"), s.state_machine_arn)
    result = logic.decide(decision, PaymentsTable(table(s.payments_table)), callbacks, utc_now())
    logger.info("payment review decided", extra={"decision": result["decision"]})
    return result
