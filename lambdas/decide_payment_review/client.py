"""The reviewer's side of a decision, for tools (orderctl, the sandbox): the event the decision function
takes, ``{orderId, decision, note?, identityProof}``, its proof signed with the reviewer's own credentials.
Never deployed code's concern: the function only verifies (identity.py)."""

from __future__ import annotations

import json
from typing import Any

from botocore.credentials import Credentials

from lambdas.decide_payment_review import identity, logic
from lambdas.shared import constants


def reviewer_role_arn(lambda_client: Any, function_name: str) -> str | None:
    """The stack's reviewer role: the first principal the decision function names (None if it names none)."""
    environment = lambda_client.get_function_configuration(FunctionName=function_name).get("Environment", {})
    principals = json.loads(environment.get("Variables", {}).get(constants.ENV_REVIEWER_PRINCIPALS, "[]"))
    return str(principals[0]) if principals else None


def signed_decision(
    sts: Any,
    credentials: Any,
    role_arn: str | None,
    order_id: str,
    decision: str,
    reviewer: str | None,
    note: str | None,
) -> dict[str, Any]:
    """Signed with ``credentials`` (e.g. ``boto3.Session().get_credentials()``), or, given ``reviewer``, with a
    session of the stack's reviewer role named after them (its trust policy admits only one's own IAM user
    name as the session name, so the recorded reviewer is the person)."""
    payload: dict[str, Any] = {"orderId": order_id, "decision": decision}
    if note:
        payload["note"] = note
    if reviewer and role_arn:
        issued = sts.assume_role(RoleArn=role_arn, RoleSessionName=reviewer)["Credentials"]
        credentials = Credentials(issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"])
    bound_to = logic.parse({**payload, "identityProof": {}}).bound_to  # the note as the function will see it
    payload["identityProof"] = identity.sign(credentials, sts.meta.region_name, sts.meta.endpoint_url, bound_to)
    return payload
