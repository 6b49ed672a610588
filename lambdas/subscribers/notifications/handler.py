"""OrderCompleted -> one order confirmation e-mail through SES (once per order); ShipmentAssigned -> one tracking
e-mail (once per order: a reaction to the logistics subscriber's reaction, nothing in the workflow changed).

No event vanishes: a malformed event is refused before anything is claimed; a run that finds another
run's live claim raises (Lambda retries it; the holder has finished by then, or the event reaches the
dead-letter queue); a run that fails after its claim releases it when SES cannot have taken the message,
and raises either way. Lambda's retries, then the on-failure destination, do the rest.

Delivery: EventBridge puts the events on the notifications queue (a buffer, infra/subscribers.py) and Lambda
reads it with a bounded concurrency (one message per invoke: infra/subscribers.py says why), so a flash sale
waits in the queue instead of being refused by SES's sending rate. ``handler`` takes such a batch (and reports
the messages that failed, which come back after the queue's visibility timeout) or one event invoked directly
(``orderctl redrive``, the console).
SES's answers:

- sent: recorded SENT;
- throttled (the account's sending rate is spent): the claim is released and this message and the rest of the
  batch go back to the queue untried;
- refused for good (``store.refusal``: an unverified recipient in SES sandbox mode, an address SES cannot send
  to): recorded NOT_SENT with the reason, counted (``EmailsNotSent``, alarmed) and not retried;
- anything else raises: the message comes back, and after the queue's receive limit it is in the dead-letter
  queue.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.shared import constants
from lambdas.shared.adapters.aws_clients import table
from lambdas.shared.clock import epoch_seconds
from lambdas.shared.events import marker_expiry
from lambdas.shared.observability import logger, metrics
from lambdas.shared.settings import text
from lambdas.subscribers import ENTRY_POINT_MARK, count_delivery, subscriber
from lambdas.subscribers.notifications import store as notifications
from lambdas.subscribers.notifications.logic import (
    ConfirmationInProgress,
    SentButNotRecorded,
    parse,
)
from lambdas.subscribers.settings import SubscriberSettings

# A duplicate delivery that finds another run's live claim waits this long (within its own time left) for
# that run to finish before it raises: concurrent duplicates then end as duplicates, not as retries.
HOLDER_WAIT_SECONDS = 3.0
HOLDER_POLL_SECONDS = 0.2
_TIME_LEFT_MARGIN_SECONDS = 1.0


class Pace:
    """This container's sends, spaced once SES has throttled one: the account's maximum send rate shared by the
    queue's concurrent readers (``BUFFER_MAX_CONCURRENCY``), so a flash sale's e-mails wait in the queue unread
    (not counted as receives) rather than throttled again and again."""

    __slots__ = ("interval", "last")

    def __init__(self) -> None:
        self.interval = 0.0  # seconds between two sends of this container; 0: unpaced (never throttled yet)
        self.last = float("-inf")  # time.monotonic() of the last send

    def throttled(self) -> None:
        readers = int(os.environ.get(constants.ENV_BUFFER_MAX_CONCURRENCY, "1") or 1)
        self.interval = max(self.interval, readers / notifications.max_send_rate())


class Settings(NamedTuple):
    subscriber: SubscriberSettings
    sender: str  # the verified SES identity confirmations come from
    pace: Pace  # per container, like the settings


@cache
def settings() -> Settings:
    """Read once per container, at its first invocation."""
    return Settings(SubscriberSettings.from_env(), text(constants.ENV_NOTIFICATION_SENDER), Pace())


class SesThrottled(RuntimeError):
    """SES's sending rate is spent: this message (and the rest of its batch) goes back to the queue."""


def send_paced(send: Callable[[], str], deadline: float) -> str:
    """``send()``, spaced per ``pace``; a throttled send waits its turn and tries again while the run has time
    (``deadline``, time.monotonic()), else SES's Throttling error is raised."""
    pace = settings().pace
    while True:
        wait = pace.last + pace.interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        pace.last = time.monotonic()
        try:
            return send()
        except Exception as error:
            if not notifications.throttled(error):
                raise
            pace.throttled()
            if time.monotonic() + pace.interval > deadline:
                raise


@subscriber("notifications")
def deliver(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One EventBridge event: its e-mail, once."""
    detail = event.get("detail")
    request = parse(event.get("detail-type"), detail)  # InvalidEvent names the field; nothing is claimed
    order_id, email = request.order_id, request.email
    s = settings()
    sender = s.sender
    table_name = table(s.subscriber.table_name)
    expires_at = marker_expiry(detail if isinstance(detail, dict) else {}, s.subscriber.marker_ttl_days)
    owner = str(context.aws_request_id)

    def try_claim() -> notifications.Claim:
        return notifications.claim(
            table_name,
            order_id,
            owner,
            int(epoch_seconds()),
            constants.NOTIFICATION_LEASE_SECONDS,
            expires_at,
            kind=request.kind,
        )

    claim = try_claim()
    time_left = getattr(context, "get_remaining_time_in_millis", lambda: 0)() / 1000 - _TIME_LEFT_MARGIN_SECONDS
    deadline = time.monotonic() + min(HOLDER_WAIT_SECONDS, time_left)
    while claim.status == notifications.HELD and time.monotonic() < deadline:
        time.sleep(HOLDER_POLL_SECONDS)  # the holder records its send, or releases a failed one
        claim = try_claim()
    if claim.status == notifications.SENT:
        count_delivery("notifications", False)
        logger.info("confirmation already sent (redelivery or replay)", extra={"messageId": claim.message_id})
        return {"orderId": order_id, "sent": False, "messageId": claim.message_id}
    if claim.status == notifications.NOT_SENT:
        count_delivery("notifications", False)
        logger.info("e-mail already refused by SES (redelivery or replay)", extra={"reason": claim.reason})
        return {"orderId": order_id, "sent": False, "reason": claim.reason}
    if not claim.ours:
        raise ConfirmationInProgress(
            f"the confirmation of order {order_id} is claimed by run {claim.owner} until {claim.lease_until} "
            "(epoch s) and not recorded as sent: retry later"
        )

    send_by = time.monotonic() + time_left
    try:
        message_id = send_paced(
            lambda: notifications.send_email(sender, email.to, email.subject, email.text, email.html), send_by
        )
    except Exception as error:
        reason = notifications.refusal(error, sender)
        if reason is not None:
            notifications.mark_not_sent(table_name, order_id, owner, reason, kind=request.kind)
            count_delivery("notifications", True)
            metrics.add_metric(name=constants.METRIC_EMAILS_NOT_SENT, unit=MetricUnit.Count, value=1)
            logger.warning("SES refused the e-mail for good: recorded as not sent", extra={"reason": reason})
            return {"orderId": order_id, "sent": False, "reason": reason}
        if notifications.never_reached_ses(error):
            # Nothing went out: the retry claims at once.
            notifications.release(table_name, order_id, owner, kind=request.kind)
        else:
            logger.error("SES may have taken the message: the claim is kept until its lease passes")
        if notifications.throttled(error):
            raise SesThrottled(f"order {order_id}: SES's maximum sending rate is exceeded; retried later") from error
        raise  # retried (the queue, or Lambda's async retries); after that it lands in the dead-letter queue
    try:
        notifications.mark_sent(table_name, order_id, owner, message_id, kind=request.kind)
    except Exception as error:
        # The e-mail went out: keeping the claim makes the retries fail (dead-letter queue) instead of
        # sending it again.
        raise SentButNotRecorded(f"order {order_id}: SES took the message as {message_id}; {error!r}") from error
    count_delivery("notifications", True)
    logger.info("confirmation sent", extra={"messageId": message_id})
    return {"orderId": order_id, "sent": True, "messageId": message_id}


def handler(event: dict[str, Any], context: Any) -> Any:
    """A batch from the notifications queue (partial failures reported), or one event invoked directly.

    The batch's answer is SQS's partial batch response (the mapping reports batch item failures): the
    messages that failed come back, the others are deleted. (Powertools' BatchProcessor does the same loop;
    its import, every event source's data classes, cost ~0.07x `import boto3` at each cold start.)
    """
    if "Records" not in event:
        return deliver(event, context)
    throttled = False
    failed: list[dict[str, str]] = []
    for record in event["Records"]:
        try:
            if throttled:  # SES's rate is spent for now: the rest of the batch goes back untried
                raise SesThrottled("SES's maximum sending rate is exceeded: retried after the visibility timeout")
            deliver(json.loads(record["body"]), context)
        except Exception as error:
            throttled = throttled or isinstance(error, SesThrottled)
            # The batch's answer names the message only: its log line is where the error can be read.
            logger.warning(
                "message failed: it comes back after the queue's visibility timeout",
                extra={"messageId": record["messageId"], "error": f"{type(error).__name__}: {error}"},
            )
            failed.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failed}


# Each event goes through the shared subscriber entry point (``deliver``): the handler is its batch adapter.
setattr(handler, ENTRY_POINT_MARK, getattr(deliver, ENTRY_POINT_MARK))
