"""Who is deciding: the IAM caller, proved by AWS, never a payload field.

Lambda does not tell a function who invoked it (``context.identity`` is only a Cognito identity), and a
resource policy cannot narrow who in the account may invoke (it only adds grants, never denies one). So a
reviewer deciding from the Lambda console or ``aws lambda invoke`` sends an **identity proof**: an
``sts:GetCallerIdentity`` request signed (SigV4) with the reviewer's own credentials, the pattern Vault's and
EKS's IAM authenticators use. The function never reads the signature itself: it sends the signed request to
STS, and STS answers with the caller's ARN or refuses (bad signature, expired: a SigV4 date is accepted for
15 minutes). Nothing in the event names the reviewer.

The proof is bound to one decision: the signed header ``X-Order-Review`` carries ``orderId:decision:
sha256(note)``; the function sets that header from the decision it is about to make, so a proof captured
for one decision (or copied from a log) cannot decide another order, the other way, or with another note.

The caller's ARN must be one the stack names (``REVIEWER_PRINCIPALS``: IAM role or user ARNs). An assumed
role answers as ``arn:aws:sts::<account>:assumed-role/<role>/<session>``; the stack's reviewer role lets
an IAM user assume it only with their own user name as the session name, so the session is the person.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final, NamedTuple

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from lambdas.shared.errors import ReviewDecisionError

BINDING_HEADER: Final = "X-Order-Review"
# What botocore sends for sts:GetCallerIdentity (query protocol): the signer signs exactly this.
STS_BODY: Final = "Action=GetCallerIdentity&Version=2011-06-15"
STS_CONTENT_TYPE: Final = "application/x-www-form-urlencoded; charset=utf-8"
# The proof's headers the function forwards to STS; anything else in the proof is ignored.
_FORWARDED: Final = ("authorization", "x-amz-date", "x-amz-security-token", "content-type")
_ARN: Final = re.compile(r"^arn:(?P<partition>[\w-]+):(?P<service>iam|sts)::(?P<account>\d{12}):(?P<resource>.+)$")
_MAX_HEADER: Final = 4096


class Reviewer(NamedTuple):
    """The verified caller: the ARN STS returned and the name recorded on the decision."""

    arn: str
    name: str


def binding(order_id: str, decision: str, note: str | None) -> str:
    """What a proof is bound to: the order, the decision (APPROVED | REJECTED) and the note's digest."""
    digest = hashlib.sha256((note or "").encode("utf-8")).hexdigest()
    return f"{order_id}:{decision}:{digest}"


def sign(credentials: Any, region: str, endpoint_url: str, bound_to: str) -> dict[str, str]:
    """The identity proof a reviewer sends: the signed GetCallerIdentity headers (botocore credentials,
    e.g. ``boto3.Session().get_credentials()``; endpoint_url: the region's STS endpoint)."""
    request = AWSRequest(
        method="POST",
        url=endpoint_url,
        data=STS_BODY,
        headers={"Content-Type": STS_CONTENT_TYPE, BINDING_HEADER: bound_to},
    )
    SigV4Auth(credentials.get_frozen_credentials(), "sts", region).add_auth(request)
    return {name: str(value) for name, value in request.headers.items() if name.lower() != "host"}


def forwarded_headers(proof: object, bound_to: str) -> dict[str, str]:
    """The headers to send STS, or ReviewDecisionError when the proof is not one of ours for this decision."""
    if not isinstance(proof, Mapping) or not proof:
        raise ReviewDecisionError(
            "Review decision: field 'identityProof' is required: a GetCallerIdentity request signed with your "
            "own AWS credentials and bound to this decision (the reviewer is who signs it, never a field)."
        )
    headers = {str(k).lower(): v for k, v in proof.items()}
    if any(not isinstance(v, str) or len(v) > _MAX_HEADER for v in headers.values()):
        raise ReviewDecisionError("Review decision: field 'identityProof' must map header names to strings.")
    if headers.get(BINDING_HEADER.lower()) != bound_to:
        raise ReviewDecisionError(
            "Review decision: the identity proof was signed for another decision (order, decision or note "
            "differ): sign one for this decision."
        )
    signed = re.search(r"SignedHeaders=([^,\s]+)", headers.get("authorization", ""))
    if signed is None or BINDING_HEADER.lower() not in signed.group(1).split(";"):
        raise ReviewDecisionError(
            "Review decision: the identity proof is not a SigV4 signature over this decision's X-Order-Review header."
        )
    out: dict[str, str] = {name: headers[name] for name in _FORWARDED if name in headers}
    out[BINDING_HEADER] = bound_to
    return out


def reviewer_of(arn: str, allowed: Sequence[str]) -> Reviewer:
    """The reviewer a verified ARN is, if the stack names it (a role: any session of it; a user: that user)."""
    match = _ARN.match(arn)
    if match is None:
        raise ReviewDecisionError(f"Review decision: {arn!r} is not an IAM identity; nothing was changed.")
    account, resource = match["account"], match["resource"]
    if match["service"] == "sts" and resource.startswith("assumed-role/"):
        _, role, session = resource.split("/", 2)
        candidates = {f"arn:{match['partition']}:iam::{account}:role/{role}"}
        name = session
    elif match["service"] == "iam" and resource.startswith("user/"):
        candidates = {arn}
        name = resource.rsplit("/", 1)[-1]
    else:
        candidates, name = set(), resource
    # A role ARN in the list may carry a path (role/team/Reviewers); an assumed-role ARN never does.
    names = {_without_path(entry) for entry in allowed}
    if not candidates & (set(allowed) | names):
        raise ReviewDecisionError(
            f"Review decision: {arn} is not a payment reviewer (the stack's reviewerPrincipals); nothing was changed."
        )
    return Reviewer(arn=arn, name=name)


def _without_path(arn: str) -> str:
    match = _ARN.match(arn)
    if match is None or not match["resource"].startswith("role/"):
        return arn
    return f"arn:{match['partition']}:iam::{match['account']}:role/{match['resource'].rsplit('/', 1)[-1]}"
