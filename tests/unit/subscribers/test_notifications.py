"""Notifications: one confirmation e-mail per order through SES, whatever EventBridge redelivers."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses import ses_backends

from lambdas.shared import clock as function_clock
from lambdas.shared import constants
from lambdas.subscribers.notifications import handler as notifications_handler
from lambdas.subscribers.notifications import store as notifications
from lambdas.subscribers.notifications.logic import confirmation
from tests.conftest import lambda_context
from tests.contract.samples import line, order_completed
from tests.unit.conftest import forget_settings
from tests.unit.subscribers.conftest import AsyncOutcome, all_items, deliver, deliver_async, record_sale

SENDER = "orders@shop.example"
LEASE = constants.NOTIFICATION_LEASE_SECONDS


class Clock:
    """The handler's ``time`` module and the functions' clock: a clock a test moves on (Lambda's retry back-off)."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def ses(subscriber_table: Any, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """SES with the configured sender verified (moto, like SES, rejects unverified senders)."""
    monkeypatch.setenv(constants.ENV_NOTIFICATION_SENDER, SENDER)
    boto3.client("ses").verify_email_identity(EmailAddress=SENDER)
    return ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    fake = Clock()
    monkeypatch.setattr(notifications_handler, "time", fake)  # its sleeps and send deadlines
    with function_clock.source(fake.time):  # its claims' leases
        yield fake


def claim_item(table: Any, order_id: str) -> dict[str, Any] | None:
    return table.get_item(Key={"pk": f"ORDER#{order_id}", "sk": "CONFIRMATION"}, ConsistentRead=True).get("Item")


def is_live(item: dict[str, Any] | None, clock: Clock) -> bool:
    """A claim that still keeps every other delivery from sending."""
    return item is not None and item["status"] == notifications.SENDING and int(item["leaseUntil"]) >= clock.now


def async_delivery(event: dict[str, Any], clock: Clock, request_id: str = "async-1") -> AsyncOutcome:
    return deliver_async(notifications_handler.handler, event, request_id, wait=clock.advance)


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

    monkeypatch.setenv(constants.ENV_NOTIFICATION_SENDER, SENDER)  # fixed and redeployed: new containers
    forget_settings()  # EventBridge/Lambda retry later
    assert deliver(notifications_handler.handler, event)["sent"] is True
    assert deliver(notifications_handler.handler, event)["sent"] is False
    assert len(ses) == 1


def test_the_email_lists_lines_and_totals_and_escapes_html() -> None:
    data = order_completed("o-<1>", [line("MUG-BLUE", 2, 1002)])["detail"]["data"]
    email = confirmation(data)
    assert email.to == "ada@example.com"
    assert "Total charged" in email.text and "20.04 EUR" in email.text
    assert "o-&lt;1&gt;" in email.html and "<1>" not in email.html


# --- Finding 4 (issue 10): no event vanishes ------------------------------------------------------------
def test_a_malformed_order_completed_claims_nothing_and_reaches_the_dead_letter_queue(
    ses: list[Any], subscriber_table: Any, clock: Clock
) -> None:
    event = order_completed("o-1")
    del event["detail"]["data"]["customer"]["email"]
    outcome = async_delivery(event, clock)
    assert outcome.dead_lettered, f"a malformed event must not be absorbed: {outcome.result}"
    assert len(outcome.errors) == 1 + constants.SUBSCRIBER_ASYNC_RETRY_ATTEMPTS
    assert set(outcome.error_names) == {"InvalidEvent"}
    assert all("detail.data.customer.email" in str(error) for error in outcome.errors)
    assert all_items(subscriber_table) == [] and ses == []


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (("data", "orderId"), None, "detail.data.orderId"),
        (("data", "lines"), [], "detail.data.lines"),
        (("data", "lines", 0, "quantity"), "two", "detail.data.lines[0].quantity"),
        (("data", "totalCents"), True, "detail.data.totalCents"),
        (("data", "customer"), "ada", "detail.data.customer"),
        (("metadata", "occurredAt"), "yesterday", "detail.metadata.occurredAt"),
    ],
)
def test_each_malformed_field_is_named_before_anything_is_claimed(
    ses: list[Any], subscriber_table: Any, path: tuple[Any, ...], value: Any, named: str
) -> None:
    event = order_completed("o-1")
    parent = event["detail"]
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    with pytest.raises(Exception, match=re.escape(named)) as raised:
        deliver(notifications_handler.handler, event)
    assert type(raised.value).__name__ == "InvalidEvent"
    assert all_items(subscriber_table) == []


def test_a_refused_send_releases_the_claim_and_a_redrive_sends_once(
    ses: list[Any], subscriber_table: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = order_completed("o-1")
    monkeypatch.setenv(constants.ENV_NOTIFICATION_SENDER, "unverified@shop.example")  # SES refuses every send
    outcome = async_delivery(event, clock)
    assert outcome.dead_lettered and all(isinstance(error, ClientError) for error in outcome.errors)
    assert ses == [] and not is_live(claim_item(subscriber_table, "o-1"), clock)

    monkeypatch.setenv(constants.ENV_NOTIFICATION_SENDER, SENDER)  # fixed; the DLQ is redriven
    forget_settings()  # the fix is a redeploy: new containers read it
    assert async_delivery(event, clock, "redrive-1").result["sent"] is True
    assert deliver(notifications_handler.handler, event)["sent"] is False
    assert len(ses) == 1


def test_ses_unreachable_after_the_claim_is_retried_to_one_email(
    ses: list[Any], subscriber_table: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_send, outage = notifications.send_email, [True]

    def unreachable(*args: Any) -> str:
        if outage and outage.pop():
            raise EndpointConnectionError(endpoint_url="https://email.eu-west-1.amazonaws.com")
        return real_send(*args)

    monkeypatch.setattr(notifications, "send_email", unreachable)
    outcome = async_delivery(order_completed("o-1"), clock)
    assert outcome.error_names == ["EndpointConnectionError"]
    assert outcome.succeeded and outcome.result["sent"] is True
    assert len(ses) == 1 and claim_item(subscriber_table, "o-1")["status"] == notifications.SENT


def test_a_claim_whose_sender_died_is_not_absorbed_and_no_second_email_goes_out(
    ses: list[Any], subscriber_table: Any, clock: Clock
) -> None:
    # A first run claimed the order and was killed (timeout, out of memory) before recording anything:
    # its claim is live, and nobody can tell whether SES took the message.
    subscriber_table.put_item(
        Item={
            "pk": "ORDER#o-1",
            "sk": "CONFIRMATION",
            "status": notifications.SENDING,
            "leaseUntil": int(clock.now) + LEASE,
            "expiresAt": int(clock.now) + 86_400,
            "owner": "killed-run",
        }
    )
    event = order_completed("o-1")
    outcome = async_delivery(event, clock)
    assert outcome.dead_lettered, "a retry that finds someone else's claim must not report success"
    assert set(outcome.error_names) == {"ConfirmationInProgress"}
    assert ses == []
    assert claim_item(subscriber_table, "o-1")["owner"] == "killed-run"  # nobody released a claim not theirs

    clock.advance(LEASE)  # the lease has passed: a redrive of the dead-letter queue takes the claim over
    assert async_delivery(event, clock, "redrive-1").result["sent"] is True
    assert len(ses) == 1


def test_a_duplicate_racing_the_sender_is_retried_until_the_send_is_recorded(
    ses: list[Any], subscriber_table: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = order_completed("o-1")
    duplicate: list[AsyncOutcome] = []
    real_send = notifications.send_email

    def send_while_a_duplicate_arrives(*args: Any) -> str:
        if not duplicate:  # EventBridge delivers the event again while the first run is at SES
            duplicate.append(AsyncOutcome())
            try:
                duplicate[0].result = deliver(notifications_handler.handler, event, "duplicate-1")
            except Exception as error:
                duplicate[0].errors.append(error)
        return real_send(*args)

    monkeypatch.setattr(notifications, "send_email", send_while_a_duplicate_arrives)
    assert deliver(notifications_handler.handler, event, "first-1")["sent"] is True
    assert duplicate[0].error_names == ["ConfirmationInProgress"], "the duplicate must not claim success yet"
    clock.advance(60)  # Lambda retries the duplicate: the first run has recorded its send
    assert deliver(notifications_handler.handler, event, "duplicate-1")["sent"] is False
    assert len(ses) == 1


def test_a_crash_after_ses_took_the_message_sends_no_second_email(
    ses: list[Any], subscriber_table: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def lost(*args: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com")

    monkeypatch.setattr(notifications, "mark_sent", lost)  # SES sent it; recording that failed
    outcome = async_delivery(order_completed("o-1"), clock)
    assert outcome.dead_lettered, "the event must not vanish"
    assert outcome.error_names[0] == "SentButNotRecorded"
    assert ses[0].id in str(outcome.errors[0]), "the DLQ record names the message that went out"
    assert set(outcome.error_names[1:]) == {"ConfirmationInProgress"}
    assert len(ses) == 1, "the retries must not send a second e-mail"
    assert is_live(claim_item(subscriber_table, "o-1"), clock)


def test_a_send_whose_outcome_is_unknown_keeps_the_claim_and_sends_no_second_email(
    ses: list[Any], subscriber_table: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_send = notifications.send_email

    def answer_lost(*args: Any) -> str:
        real_send(*args)  # SES took it; the answer never came back
        raise ReadTimeoutError(endpoint_url="https://email.eu-west-1.amazonaws.com")

    monkeypatch.setattr(notifications, "send_email", answer_lost)
    outcome = async_delivery(order_completed("o-1"), clock)
    assert outcome.dead_lettered
    assert outcome.error_names == ["ReadTimeoutError"] + ["ConfirmationInProgress"] * 2
    assert len(ses) == 1


def test_only_the_claims_owner_releases_it(subscriber_table: Any) -> None:
    now = int(time.time())
    table = subscriber_table
    assert notifications.claim(table, "o-1", "run-a", now, LEASE, now + 86_400).ours
    held = notifications.claim(table, "o-1", "run-b", now + 1, LEASE, now + 86_400)
    assert (held.status, held.owner, held.lease_until) == (notifications.HELD, "run-a", now + LEASE)
    assert notifications.release(table, "o-1", "run-b") is False
    assert notifications.release(table, "o-1", "run-a") is True
    assert notifications.claim(table, "o-1", "run-b", now + 2, LEASE, now + 86_400).ours


def test_the_sweeper_finds_expired_send_claims_and_whether_an_email_may_have_gone(subscriber_table: Any) -> None:
    now = int(time.time())
    table = subscriber_table
    for order_id in ("died", "released", "live", "sent"):
        assert notifications.claim(table, order_id, f"run-{order_id}", now - LEASE - 1, LEASE, now + 86_400).ours
    assert notifications.release(table, "released", "run-released")
    assert notifications.claim(table, "live", "run-live-2", now, LEASE, now + 86_400).ours  # taken over: live
    notifications.mark_sent(table, "sent", "run-sent", "m-1")
    found = sorted(notifications.expired_claims(table, now), key=lambda claim: claim["orderId"])
    assert found == [
        {
            "orderId": "died",
            "kind": "",
            "owner": "run-died",
            "claimedAt": now - LEASE - 1,
            "leaseUntil": now - 1,
            "maybeSent": True,
        },
        {
            "orderId": "released",
            "kind": "",
            "owner": "run-released",
            "claimedAt": now - LEASE - 1,
            "leaseUntil": 0,
            "maybeSent": False,
        },
    ]


def test_a_duplicate_that_finds_the_sender_finishing_ends_as_a_duplicate(
    ses: list[Any], subscriber_table: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = order_completed("o-1")
    record_sale("o-1")
    now = int(clock.now)
    assert notifications.claim(subscriber_table, "o-1", "sender-1", now, LEASE, now + 86_400).ours
    context = lambda_context("subscriber")
    context.get_remaining_time_in_millis = lambda: 10_000

    def sender_finishes(seconds: float) -> None:  # while the duplicate waits, the sender records its send
        clock.advance(seconds)
        notifications.mark_sent(subscriber_table, "o-1", "sender-1", "m-1")

    monkeypatch.setattr(clock, "sleep", sender_finishes)
    assert notifications_handler.handler(event, context) == {"orderId": "o-1", "sent": False, "messageId": "m-1"}
    assert ses == []
