"""Notifications and SES's answers (issue 14, issue 16): a permanent refusal is recorded as not sent, counted and
never retried; throttling sends the message (and the rest of its batch) back to the queue; other failures retry.
SES is faked at the adapter (``store.send_email``)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambdas.shared import constants
from lambdas.subscribers.notifications import handler as notifications_handler
from lambdas.subscribers.notifications import store as notifications
from lambdas.subscribers.trust import claims_a_sale
from tests.conftest import lambda_context
from tests.contract.samples import order_completed
from tests.unit.subscribers.conftest import all_items, deliver, record_sale
from tests.unit.subscribers.test_notifications import Clock
from tests.unit.test_business_metrics import emitted_metrics

SENDER = "orders@shop.example"


def ses_error(code: str, message: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, "SendEmail"
    )


@pytest.fixture
def ses(subscriber_table: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[str]]:
    """``ses(answer)``: every send calls ``answer(to)`` (raise an error or return); the addresses tried."""
    monkeypatch.setenv(constants.ENV_NOTIFICATION_SENDER, SENDER)
    tried: list[str] = []

    def install(answer: Callable[[str], None] = lambda to: None) -> list[str]:
        def send_email(sender: str, to: str, subject: str, text: str, html: str) -> str:
            tried.append(to)
            answer(to)
            return f"message-{len(tried)}"

        monkeypatch.setattr(notifications, "send_email", send_email)
        return tried

    return install


def batch(*events: dict[str, Any]) -> dict[str, Any]:
    """What the event source mapping hands the function: SQS messages whose bodies are EventBridge events (their
    orders' sales in the ledger, as the workflow records them before it publishes)."""
    for event in events:
        if order_id := claims_a_sale(event):
            record_sale(order_id)
    return {
        "Records": [
            {
                "messageId": f"m-{index}",
                "receiptHandle": f"r-{index}",
                "body": json.dumps(event),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:notifications",
                "awsRegion": "eu-west-1",
            }
            for index, event in enumerate(events)
        ]
    }


def claim(table: Any, order_id: str) -> dict[str, Any]:
    (item,) = [i for i in all_items(table) if i["pk"] == f"ORDER#{order_id}"]
    return item


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            "MessageRejected",
            "Email address is not verified. The following identities failed the check in region EU-WEST-1: "
            "ada@example.com",
        ),
        ("InvalidParameterValue", "Local address contains control or whitespace"),
        ("MailFromDomainNotVerifiedException", "MAIL FROM domain shop.example is not verified"),
    ],
)
def test_a_permanent_refusal_is_recorded_not_sent_counted_once_and_never_retried(
    ses: Callable[..., list[str]], subscriber_table: Any, capsys: pytest.CaptureFixture[str], code: str, message: str
) -> None:
    def refuse(to: str) -> None:
        raise ses_error(code, message)

    tried = ses(refuse)
    event = order_completed("o-1", email="ada@example.com")
    result = notifications_handler.handler(batch(event), lambda_context("notifications"))
    assert result == {"batchItemFailures": []}  # handled: the message leaves the queue, no retry, no DLQ
    item = claim(subscriber_table, "o-1")
    assert item["status"] == notifications.NOT_SENT and item["reason"].startswith(code)
    assert "ada@example.com" not in item["reason"]
    output = capsys.readouterr().out
    assert emitted_metrics(output)[constants.METRIC_EMAILS_NOT_SENT] == 1
    assert "ada@example.com" not in output

    assert deliver(notifications_handler.handler, event)["sent"] is False  # a redelivery or replay
    assert tried == ["ada@example.com"]  # SES was asked once
    assert constants.METRIC_EMAILS_NOT_SENT not in emitted_metrics(capsys.readouterr().out)


def test_our_sender_failing_the_identity_check_is_retried_not_recorded(
    ses: Callable[..., list[str]], subscriber_table: Any
) -> None:
    def refuse(to: str) -> None:
        raise ses_error("MessageRejected", f"Email address is not verified. ...: {SENDER}, {to}")

    ses(refuse)
    result = notifications_handler.handler(batch(order_completed("o-1")), lambda_context("notifications"))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    item = claim(subscriber_table, "o-1")
    assert item["status"] == notifications.SENDING and int(item["leaseUntil"]) == 0  # released: a retry claims


def test_throttling_sends_the_message_and_the_rest_of_its_batch_back_untried(
    ses: Callable[..., list[str]], subscriber_table: Any
) -> None:
    budget = [1]  # SES takes one e-mail, then its sending rate is spent

    def rate(to: str) -> None:
        if not budget[0]:
            raise ses_error("Throttling", "Maximum sending rate exceeded.")
        budget[0] -= 1

    tried = ses(rate)
    events = [order_completed(f"o-{n}", email=f"c{n}@example.com") for n in range(3)]
    result = notifications_handler.handler(batch(*events), lambda_context("notifications"))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]}
    assert tried == ["c0@example.com", "c1@example.com"]  # the third was not tried
    assert int(claim(subscriber_table, "o-1")["leaseUntil"]) == 0  # released: nothing went out

    budget[0] = 5  # the next second: the queue hands the two back
    assert notifications_handler.handler(batch(events[1], events[2]), lambda_context("notifications")) == {
        "batchItemFailures": []
    }
    assert {item["status"] for item in all_items(subscriber_table)} == {notifications.SENT}
    assert tried.count("c1@example.com") == 2 and tried.count("c2@example.com") == 1


def test_a_transient_failure_is_a_batch_item_failure_and_nothing_is_recorded_as_refused(
    ses: Callable[..., list[str]], subscriber_table: Any
) -> None:
    def down(to: str) -> None:
        raise ses_error("ServiceUnavailable", "Service Unavailable", 503)

    ses(down)
    result = notifications_handler.handler(
        batch(order_completed("o-1"), order_completed("o-2")), lambda_context("notifications")
    )
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-0"}, {"itemIdentifier": "m-1"}]}
    assert {item["status"] for item in all_items(subscriber_table)} == {notifications.SENDING}


def test_addresses_are_masked_in_a_reason() -> None:
    text = "identities failed the check in region EU-WEST-1: a.b+c@example.com, <d@e.org>"
    assert (
        notifications.mask_addresses(text) == "identities failed the check in region EU-WEST-1: <address>, <<address>>"
    )


def test_once_throttled_a_container_paces_its_sends_to_its_share_of_the_rate_and_sends_the_whole_batch(
    ses: Callable[..., list[str]], subscriber_table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(notifications_handler, "time", clock)
    monkeypatch.setattr(notifications, "max_send_rate", lambda: 4.0)  # GetSendQuota: 4 e-mails per second ...
    monkeypatch.setenv(constants.ENV_BUFFER_MAX_CONCURRENCY, "2")  # ... shared by two readers: one per 0.5 s
    accepted: list[float] = []

    def rate(to: str) -> None:
        if accepted and clock.now - accepted[-1] < 0.5:
            raise ses_error("Throttling", "Maximum sending rate exceeded.")
        accepted.append(clock.now)

    tried = ses(rate)
    context = lambda_context("notifications")
    context.get_remaining_time_in_millis = lambda: 60_000
    events = [order_completed(f"o-{n}", email=f"c{n}@example.com") for n in range(5)]
    assert notifications_handler.handler(batch(*events), context) == {"batchItemFailures": []}
    assert {item["status"] for item in all_items(subscriber_table)} == {notifications.SENT}
    assert len(tried) == 6  # one throttled send, then paced: none refused again
    assert [round(b - a, 3) for a, b in itertools.pairwise(accepted)] == [0.5] * 4
