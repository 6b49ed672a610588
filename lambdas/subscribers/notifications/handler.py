"""OrderCompleted -> one order confirmation e-mail through SES (once per order); ShipmentAssigned -> one tracking
e-mail (once per order: a reaction to the logistics subscriber's reaction, nothing in the workflow changed).

No event vanishes: a malformed event is refused before anything is claimed; a run that finds another
run's live claim raises (Lambda retries it; the holder has finished by then, or the event reaches the
dead-letter queue); a run that fails after its claim releases it when SES cannot have taken the message,
and raises either way. Lambda's retries, then the on-failure destination, do the rest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from lambdas.shared import constants
from lambdas.shared.adapters.aws_clients import table
from lambdas.shared.events import marker_expiry
from lambdas.shared.observability import logger
from lambdas.shared.settings import SubscriberSettings, text
from lambdas.subscribers import count_delivery, subscriber
from lambdas.subscribers.notifications import store as notifications
from lambdas.subscribers.notifications.logic import (
    ConfirmationInProgress,
    SentButNotRecorded,
    parse,
)

# A duplicate delivery that finds another run's live claim waits this long (within its own time left) for
# that run to finish before it raises: concurrent duplicates then end as duplicates, not as retries.
HOLDER_WAIT_SECONDS = 3.0
HOLDER_POLL_SECONDS = 0.2
_TIME_LEFT_MARGIN_SECONDS = 1.0


@dataclass(frozen=True)
class Settings:
    subscriber: SubscriberSettings
    sender: str  # the verified SES identity confirmations come from


@cache
def settings() -> Settings:
    """Read once per container, at its first invocation."""
    return Settings(SubscriberSettings.from_env(), text(constants.ENV_NOTIFICATION_SENDER))


@subscriber("notifications")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
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
            int(time.time()),
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
    if not claim.ours:
        raise ConfirmationInProgress(
            f"the confirmation of order {order_id} is claimed by run {claim.owner} until {claim.lease_until} "
            "(epoch s) and not recorded as sent: retry later"
        )

    try:
        message_id = notifications.send_email(sender, email.to, email.subject, email.text, email.html)
    except Exception as error:
        if notifications.never_reached_ses(error):
            # Nothing went out: the retry claims at once.
            notifications.release(table_name, order_id, owner, kind=request.kind)
        else:
            logger.error("SES may have taken the message: the claim is kept until its lease passes")
        raise  # Lambda retries it; after that it lands in the dead-letter queue
    try:
        notifications.mark_sent(table_name, order_id, owner, message_id, kind=request.kind)
    except Exception as error:
        # The e-mail went out: keeping the claim makes the retries fail (dead-letter queue) instead of
        # sending it again.
        raise SentButNotRecorded(f"order {order_id}: SES took the message as {message_id}; {error!r}") from error
    count_delivery("notifications", True)
    logger.info("confirmation sent", extra={"messageId": message_id})
    return {"orderId": order_id, "sent": True, "messageId": message_id}
