"""Notifications: one confirmation e-mail per order through SES, whatever EventBridge redelivers."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses import ses_backends

from lambdas.shared import constants
from lambdas.shared.adapters import notifications
from lambdas.subscribers.notifications import handler as notifications_handler
from lambdas.subscribers.notifications.logic import confirmation
from tests.contract.samples import line, order_completed
from tests.unit.subscribers.conftest import all_items, deliver

SENDER = "orders@shop.example"


@pytest.fixture
def ses(subscriber_table: Any, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """SES with the configured sender verified (moto, like SES, rejects unverified senders)."""
    monkeypatch.setenv(constants.ENV_NOTIFICATION_SENDER, SENDER)
    boto3.client("ses").verify_email_identity(EmailAddress=SENDER)
    return ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages


def test_the_customer_gets_one_confirmation(ses: list[Any]) -> None:
    event = order_completed("o-1", [line("MUG-BLUE", 2, 1002)], email="ada@example.com")
    result = deliver(notifications_handler.handler, event)
    assert result["sent"] is True
    (message,) = ses
    assert message.source == SENDER
    assert message.destinations["ToAddresses"] == ["ada@example.com"]
    assert message.subject == "Your order o-1 is confirmed"
    assert "2 x MUG-BLUE" in message.body and "20.04 EUR" in message.body


def test_redelivery_and_replay_send_nothing_more(ses: list[Any], subscriber_table: Any) -> None:
    event = order_completed("o-1")
    deliver(notifications_handler.handler, event)
    assert deliver(notifications_handler.handler, event)["sent"] is False
    assert deliver(notifications_handler.handler, {**event, "id": "replayed", "replay-name": "r"})["sent"] is False
    assert len(ses) == 1
    (marker,) = all_items(subscriber_table)
    assert marker["status"] == notifications.SENT and marker["messageId"]


def test_a_failed_send_is_retried_and_then_sends_once(
    ses: list[Any], subscriber_table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = order_completed("o-1")
    monkeypatch.setenv(constants.ENV_NOTIFICATION_SENDER, "unverified@shop.example")
    with pytest.raises(ClientError, match="not verified"):
        deliver(notifications_handler.handler, event)
    assert ses == []

    monkeypatch.setenv(constants.ENV_NOTIFICATION_SENDER, SENDER)  # EventBridge/Lambda retry later
    assert deliver(notifications_handler.handler, event)["sent"] is True
    assert deliver(notifications_handler.handler, event)["sent"] is False
    assert len(ses) == 1


def test_a_send_in_progress_blocks_a_duplicate_until_its_lease_passes(ses: list[Any], subscriber_table: Any) -> None:
    # A first delivery claimed the order and crashed before recording the send.
    now = int(time.time())
    lease = constants.NOTIFICATION_LEASE_SECONDS
    assert notifications.claim(subscriber_table.name, "o-1", now, lease, expires_at=now + 86_400)
    assert deliver(notifications_handler.handler, order_completed("o-1"))["sent"] is False
    assert not notifications.claim(subscriber_table.name, "o-1", now + lease - 1, lease, expires_at=now)
    assert notifications.claim(subscriber_table.name, "o-1", now + lease + 1, lease, expires_at=now)


def test_the_email_lists_lines_and_totals_and_escapes_html() -> None:
    data = order_completed("o-<1>", [line("MUG-BLUE", 2, 1002)])["detail"]["data"]
    email = confirmation(data)
    assert email.to == "ada@example.com"
    assert "Total charged" in email.text and "20.04 EUR" in email.text
    assert "o-&lt;1&gt;" in email.html and "<1>" not in email.html
