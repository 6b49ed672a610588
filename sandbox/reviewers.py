"""A reviewer's console decision in the sandbox, made as a person makes it: assume the stack's reviewer role
under one's own name, sign the decision's identity proof with those credentials, invoke the function.

The sandbox (moto) does not check SigV4 signatures nor the role's trust policy; it does answer
GetCallerIdentity with the assumed role's session, so the reviewer recorded is the session name.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.credentials import Credentials

from lambdas.decide_payment_review import identity, logic
from lambdas.shared import constants


def reviewer_role_arn(sandbox: Any) -> str:
    """The stack's reviewer role: the first principal the decision function names."""
    function = sandbox.function_name(constants.REVIEW_DECISION_HANDLER)
    environment = sandbox.client("lambda").get_function_configuration(FunctionName=function)["Environment"]
    return str(json.loads(environment["Variables"][constants.ENV_REVIEWER_PRINCIPALS])[0])


def decision_payload(
    sandbox: Any, order_id: str, decision: str, reviewer: str, note: str | None = None
) -> dict[str, Any]:
    """{orderId, decision, note?, identityProof} signed by `reviewer`'s session of the reviewer role."""
    payload: dict[str, Any] = {"orderId": order_id, "decision": decision}
    if note:
        payload["note"] = note
    sts = sandbox.client("sts")
    issued = sts.assume_role(RoleArn=reviewer_role_arn(sandbox), RoleSessionName=reviewer)["Credentials"]
    credentials = Credentials(issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"])
    bound_to = logic.parse({**payload, "identityProof": {}}).bound_to
    payload["identityProof"] = identity.sign(credentials, sts.meta.region_name, sts.meta.endpoint_url, bound_to)
    return payload
