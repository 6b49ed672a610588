"""Personal data stays out of the function logs (issue 11, finding 5; docs/PRIVACY.md): orders run through the
deployed wiring, then every log record the handlers wrote is scanned for the customer's e-mail and address and
the reviewer's identity."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path
from typing import Any

import pytest

from lambdas.shared import constants
from sandbox.account import Sandbox

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "orders"
REVIEWER = "privacy-reviewer"


def _order(example: str) -> dict[str, Any]:
    order = json.loads((EXAMPLES / f"{example}.json").read_text())
    order_id = f"priv-{uuid.uuid4().hex[:10]}"
    return {**order, "orderId": order_id, "customer": {**order["customer"], "email": f"{order_id}@example.com"}}


def _text(record: logging.LogRecord) -> str:
    """Everything a log line carries: the message, every extra key, the exception."""
    fields = {k: v for k, v in vars(record).items() if k not in ("msg", "args", "exc_info")}
    exception = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
    return " ".join([record.getMessage(), json.dumps(fields, default=str), exception])


def test_no_log_line_carries_the_customers_email_or_address_or_the_reviewer(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=constants.SERVICE_NAME)  # the handlers' Powertools logger, every level
    happy, review = _order("happy"), _order("review")
    runner = sandbox.runner()
    arns = [runner.start(happy), runner.start(review)]
    runner.wait_for_task_token(review["orderId"])
    # The review's task token answers the review: no log may hold it (issue 11, finding 1)
    payments = sandbox.resource("dynamodb").Table(
        sandbox.environment_of(constants.REVIEW_DECISION_HANDLER)[constants.ENV_PAYMENTS_TABLE]
    )
    token = str(payments.get_item(Key={"orderId": review["orderId"]}, ConsistentRead=True)["Item"]["taskToken"])
    runner.decide_review(review["orderId"], "approve", REVIEWER, "checked: card holder confirmed by phone")
    runner.wait(arns)
    assert sandbox.drain(60)
    assert {runner.result(arn).status for arn in arns} == {"SUCCEEDED"}

    logged = [_text(record) for record in caplog.records if record.name == constants.SERVICE_NAME]
    assert any(happy["orderId"] in line for line in logged), "the handlers' records were not captured"
    secrets = [
        *(order["customer"]["email"] for order in (happy, review)),
        *(order["shippingAddress"][field] for order in (happy, review) for field in ("name", "line1", "postalCode")),
        REVIEWER,
        token,
    ]
    leaks = sorted({secret for secret in secrets for line in logged if secret in line})
    assert not leaks, f"personal data in the function logs: {leaks}"
