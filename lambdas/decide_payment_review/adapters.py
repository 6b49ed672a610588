"""STS, asked who signed an identity proof (the decision function's only adapter of its own)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from lambdas.shared.errors import ReviewDecisionError

_CONFIG = Config(signature_version=UNSIGNED, retries={"mode": "standard", "max_attempts": 2}, read_timeout=5)


def verified_caller(headers: dict[str, str]) -> str:
    """Send the reviewer's signed GetCallerIdentity to STS (its headers, our body) and return the caller's
    ARN; STS checks the signature and its age. The client signs nothing itself: it only carries the proof."""
    sts = boto3.client("sts", config=_CONFIG)

    def carry_proof(request: Any, **_: Any) -> None:
        for name in [n for n in request.headers if n.lower() in {h.lower() for h in headers}]:
            del request.headers[name]
        for name, value in headers.items():
            request.headers[name] = value

    sts.meta.events.register_first("before-send.sts.GetCallerIdentity", carry_proof)
    try:
        return str(sts.get_caller_identity()["Arn"])
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        raise ReviewDecisionError(
            f"Review decision: STS refused the identity proof ({code}): sign a fresh one (valid 15 minutes) "
            "with your own credentials. Nothing was changed."
        ) from None
