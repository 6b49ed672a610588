"""The sandbox's SES model (sandbox/ses.py): the sending rate on the sandbox clock, SES sandbox mode, addresses
SES refuses; moto alone sends all of them."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox import ses
from sandbox.clock import Clock

SENDER = "orders@example.com"


def _send(client: Any, to: str = "customer@example.org") -> str:
    response = client.send_email(
        Source=SENDER,
        Destination={"ToAddresses": [to]},
        Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}},
    )
    return str(response["MessageId"])


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


@pytest.fixture
def client(aws: None) -> Any:
    ses_client = boto3.client("ses", config=Config(retries={"total_max_attempts": 1}))  # boto3 retries Throttling
    ses_client.verify_email_identity(EmailAddress=SENDER)
    return ses_client


def test_the_send_rate_throttles_within_a_virtual_second_and_refills_when_the_clock_moves(client: Any) -> None:
    for _ in range(5):
        _send(client)  # moto alone: no limit
    clock = Clock()
    with ses.modelled(clock, ses.SesLimits(send_rate_per_second=2)) as model:
        _send(client)
        _send(client)
        with pytest.raises(ClientError) as refused:
            _send(client)
        assert _code(refused) == ses.THROTTLING
        assert ses.THROTTLING_MESSAGE in str(refused.value)
        clock.advance(1.0)
        _send(client)
        assert (model.sent, model.throttled) == (3, 1)
        assert client.get_send_quota()["MaxSendRate"] == 2
    for _ in range(3):
        _send(client)  # restored on exit


def test_ses_sandbox_mode_refuses_unverified_recipients(client: Any) -> None:
    client.verify_email_identity(EmailAddress="tester@example.org")
    with ses.modelled(Clock(), ses.SesLimits(verify_recipients=True)) as model:
        _send(client, "tester@example.org")
        with pytest.raises(ClientError) as refused:
            _send(client, "customer@example.org")
    assert _code(refused) == "MessageRejected"
    assert "customer@example.org" in str(refused.value) and "not verified" in str(refused.value)
    assert model.sent == 1 and len(model.rejected) == 1


def test_a_non_ascii_local_part_is_refused(client: Any) -> None:
    with ses.modelled(Clock(), ses.SesLimits()) as model, pytest.raises(ClientError) as refused:
        _send(client, "jürgen@example.org")
    assert _code(refused) == "InvalidParameterValue"
    assert model.rejected and model.sent == 0


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="send_rate_per_second"):
        ses.SesLimits(send_rate_per_second=0)
