"""The notifications subscriber's store: one send claim per order (so a redelivery sends no second e-mail) and SES.

The claim item, in the subscriber's table (the sweeper reads this shape, see ``expired_claims``):
``pk = ORDER#<orderId>``, ``sk = CONFIRMATION`` (the tracking e-mail: ``sk = TRACKING``),
``status`` SENDING | SENT | NOT_SENT, ``leaseUntil`` (epoch s), ``owner`` (the claiming run's request id),
``claimedAt`` (epoch s), ``messageId`` (SES, once SENT), ``reason`` (SES's refusal, addresses masked, once
NOT_SENT), ``expiresAt`` (TTL).

- Absent, or SENDING with ``leaseUntil`` passed: a run may claim it (SENDING, lease, owner).
- SENDING with a live lease: another run is sending, or died without telling (a killed run cannot
  release). Nobody may send; the caller raises so Lambda retries the event, then dead-letters it.
- SENT: done; a redelivery or replay changes nothing.
- NOT_SENT: SES refused this e-mail for good (an unverified recipient in SES sandbox mode, an address it
  cannot send to): recorded with its reason and counted, never retried; a redelivery changes nothing either
  (delete the item to send again once the cause is fixed).

A run that fails before SES could have taken the message releases its own claim (``leaseUntil = 0``), so
its retry claims at once. A run that fails after SES took the message (or without knowing whether it did)
keeps the claim: its retries then fail on the live lease and the event reaches the dead-letter queue
rather than a second e-mail going out. Only a redrive after the lease has passed may send again, the one
case that can duplicate (SES has no idempotency key): better than never confirming, and the sweeper has
reported the expired claim by then.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Final, NamedTuple

import boto3
from boto3.dynamodb.conditions import Attr
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from lambdas.shared import constants
from lambdas.shared.adapters.dynamo import all_items, conditional_check_failed
from lambdas.subscribers.notifications.logic import TRACKING

_PK, _SK = constants.SUBSCRIBER_TABLE_KEYS
_TTL = constants.MARKER_TTL_ATTRIBUTE

SENT = "SENT"
SENDING = "SENDING"
NOT_SENT = "NOT_SENT"
HELD = "HELD"  # not stored: what ``claim`` answers when another run's lease is live
CLAIM_SK = "CONFIRMATION"
ORDER_PREFIX = "ORDER#"


class Claim(NamedTuple):
    """The state of an order's confirmation after a run tried to claim it."""

    status: str  # SENDING: this run holds the claim; SENT / NOT_SENT: settled before; HELD: another run's lease
    owner: str = ""
    lease_until: int = 0
    message_id: str = ""
    reason: str = ""  # NOT_SENT: why

    @property
    def ours(self) -> bool:
        return self.status == SENDING


def _key(order_id: str, kind: str = "") -> dict[str, str]:
    return {_PK: f"{ORDER_PREFIX}{order_id}", _SK: kind or CLAIM_SK}


def claim(
    dynamo_table: Any, order_id: str, owner: str, now: int, lease_seconds: int, expires_at: int, kind: str = ""
) -> Claim:
    """Take the right to send this order's confirmation (``kind``: another e-mail of the order, e.g. TRACKING),
    or say who has it (SENT, or HELD by a live lease)."""
    item = {
        **_key(order_id, kind),
        "status": SENDING,
        "owner": owner,
        "claimedAt": now,
        "leaseUntil": now + lease_seconds,
        _TTL: expires_at,
    }
    try:
        dynamo_table.put_item(
            Item=item,
            ConditionExpression=f"attribute_not_exists({_PK}) OR (#s = :sending AND leaseUntil < :now)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":sending": SENDING, ":now": now},
        )
    except ClientError as error:
        if not conditional_check_failed(error):
            raise
        current = dynamo_table.get_item(Key=_key(order_id, kind), ConsistentRead=True).get("Item") or {}
        status = current.get("status") if current.get("status") in (SENT, NOT_SENT) else HELD
        return Claim(
            str(status),
            str(current.get("owner", "")),
            int(current.get("leaseUntil", 0)),
            str(current.get("messageId", "")),
            str(current.get("reason", "")),
        )
    return Claim(SENDING, owner, now + lease_seconds)


def release(dynamo_table: Any, order_id: str, owner: str, kind: str = "") -> bool:
    """This run's send failed before SES could take the message: let the next retry claim at once.

    Only the claim's owner releases it, and only while it is SENDING; False when it was not ours.
    """
    try:
        dynamo_table.update_item(
            Key=_key(order_id, kind),
            UpdateExpression="SET leaseUntil = :zero",
            ConditionExpression="#s = :sending AND #o = :owner",
            ExpressionAttributeNames={"#s": "status", "#o": "owner"},
            ExpressionAttributeValues={":zero": 0, ":sending": SENDING, ":owner": owner},
        )
    except ClientError as error:
        if conditional_check_failed(error):
            return False
        raise
    return True


def mark_sent(dynamo_table: Any, order_id: str, owner: str, message_id: str, kind: str = "") -> None:
    _settle(dynamo_table, order_id, owner, SENT, "messageId", message_id, kind)


def mark_not_sent(dynamo_table: Any, order_id: str, owner: str, reason: str, kind: str = "") -> None:
    """SES refused this e-mail for good: settled as NOT_SENT with the reason (addresses masked)."""
    _settle(dynamo_table, order_id, owner, NOT_SENT, "reason", reason, kind)


def _settle(dynamo_table: Any, order_id: str, owner: str, status: str, field: str, value: str, kind: str) -> None:
    """The claim's final state: SENT with SES's message id, or NOT_SENT with SES's reason."""
    dynamo_table.update_item(
        Key=_key(order_id, kind),
        UpdateExpression=f"SET #s = :status, {field} = :value, sentBy = :owner",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":status": status, ":value": value, ":owner": owner},
    )


# SES's answers that no retry changes: the recipient's address (unverified in SES sandbox mode, malformed,
# non-ASCII...), the message, or a custom MAIL FROM domain whose MX check fails (SES refuses every e-mail
# until the DNS is fixed, hours at best: counted and alarmed rather than retried into the dead-letter queue).
# Our sender address failing the identity check is not one of them: that is fixed once for every e-mail, so
# it is retried (and dead-lettered for a redrive) like any other failure.
PERMANENT_REFUSALS: Final = frozenset(
    {"MessageRejected", "InvalidParameterValue", "MailFromDomainNotVerifiedException"}
)
THROTTLED: Final = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException"})
_ADDRESS: Final = re.compile(r"[^\s,;:<>\"'()\[\]]+@[^\s,;:<>\"'()\[\]]+")


def error_code(error: BaseException) -> str:
    return str(error.response.get("Error", {}).get("Code", "")) if isinstance(error, ClientError) else ""


def refusal(error: BaseException, sender: str) -> str | None:
    """Why SES refused this e-mail for good (addresses masked), or None when a retry may succeed."""
    code = error_code(error)
    if code not in PERMANENT_REFUSALS:
        return None
    assert isinstance(error, ClientError)
    message = str(error.response.get("Error", {}).get("Message", ""))
    if code == "MessageRejected" and sender.lower() in message.lower():
        return None  # our sender failed the check: the shop's configuration, not this customer's address
    return f"{code}: {mask_addresses(message)}"


def mask_addresses(text: str) -> str:
    """`text` with every e-mail address replaced (a refusal's reason is stored and logged, the address is not)."""
    return _ADDRESS.sub("<address>", text)


def throttled(error: BaseException) -> bool:
    """SES's sending rate is exceeded ("Maximum sending rate exceeded."): try again later."""
    return error_code(error) in THROTTLED


def never_reached_ses(error: BaseException) -> bool:
    """Whether a failed ``send_email`` certainly sent nothing: SES answered with an error, or could not be
    reached at all. Anything else (a read timeout, a connection dropped mid-answer) may have sent it."""
    return isinstance(error, ClientError | EndpointConnectionError)


@cache
def _ses() -> Any:
    """SES without botocore's own retries: a throttled send goes back to the queue, which is the retry (and
    does not hold a container sleeping while the account's sending rate is spent)."""
    config = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=2, read_timeout=5)
    return boto3.client("ses", config=config)


@cache
def max_send_rate() -> float:
    """The account's maximum send rate (e-mails per second; GetSendQuota), once per container: 1 in the SES
    sandbox, 14 by default in production, more after an increase. 1 when it cannot be read."""
    try:
        return max(float(_ses().get_send_quota()["MaxSendRate"]), 0.001)
    except (ClientError, EndpointConnectionError, KeyError, ValueError):
        return 1.0


def send_email(sender: str, to: str, subject: str, text: str, html: str) -> str:
    response = _ses().send_email(
        Source=sender,
        Destination={"ToAddresses": [to]},
        Message={
            "Subject": {"Data": subject, "Charset": "UTF-8"},
            "Body": {"Text": {"Data": text, "Charset": "UTF-8"}, "Html": {"Data": html, "Charset": "UTF-8"}},
        },
    )
    return str(response["MessageId"])


def expired_claims(dynamo_table: Any, now: int) -> list[dict[str, Any]]:
    """Every SENDING claim whose lease has passed (for the sweeper), the confirmation's and the tracking
    e-mail's: ``{orderId, kind, owner, claimedAt, leaseUntil, maybeSent}`` (``kind`` as ``claim`` takes
    it: "" the confirmation, TRACKING the tracking e-mail). Its event failed and is being retried or is in
    the notifications dead-letter queue. ``maybeSent`` is False for a claim its run released
    (``leaseUntil = 0``: SES never took the message, a redrive is safe) and True for one whose lease ran
    out (the run died or failed after SES may have taken it: check SES before a redrive, which would send
    again). A scan: the table holds two claims per order at most within the marker TTL, and the sweeper
    runs rarely."""
    claims = all_items(
        dynamo_table.scan,
        FilterExpression=Attr(_SK).is_in([CLAIM_SK, TRACKING])
        & Attr("status").eq(SENDING)
        & Attr("leaseUntil").lt(now),
        ConsistentRead=True,
    )
    return [
        {
            "orderId": str(item[_PK]).removeprefix(ORDER_PREFIX),
            "kind": "" if item[_SK] == CLAIM_SK else str(item[_SK]),
            "owner": str(item.get("owner", "")),
            "claimedAt": int(item.get("claimedAt", 0)),
            "leaseUntil": int(item.get("leaseUntil", 0)),
            "maybeSent": int(item.get("leaseUntil", 0)) != 0,
        }
        for item in claims
    ]
