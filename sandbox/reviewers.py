"""A reviewer's console decision in the sandbox, made as a person makes it: assume the stack's reviewer role
under one's own name, sign the decision's identity proof with those credentials, invoke the function.

The sandbox (moto) does not check SigV4 signatures nor the role's trust policy; it does answer
GetCallerIdentity with the assumed role's session, so the reviewer recorded is the session name.
"""

from __future__ import annotations

from typing import Any

from lambdas.decide_payment_review.client import reviewer_role_arn, signed_decision
from lambdas.shared import constants


def decision_payload(
    sandbox: Any, order_id: str, decision: str, reviewer: str, note: str | None = None
) -> dict[str, Any]:
    """{orderId, decision, note?, identityProof} signed by `reviewer`'s session of the reviewer role."""
    role = reviewer_role_arn(sandbox.client("lambda"), sandbox.function_name(constants.REVIEW_DECISION_HANDLER))
    return signed_decision(sandbox.client("sts"), None, role, order_id, decision, reviewer, note)
