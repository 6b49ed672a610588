"""The notifications subscriber's store: one send claim per order (so a redelivery sends no second e-mail) and SES.

The claim item, in the subscriber's table (the sweeper reads this shape, see ``expired_claims``):
``pk = ORDER#<orderId>``, ``sk = CONFIRMATION`` (the tracking e-mail: ``sk = TRACKING``),
``status`` SENDING | SENT, ``leaseUntil`` (epoch s), ``owner`` (the claiming run's request id),
``claimedAt`` (epoch s), ``messageId`` (SES, once SENT), ``expiresAt`` (TTL).

- Absent, or SENDING with ``leaseUntil`` passed: a run may claim it (SENDING, lease, owner).
- SENDING with a live lease: another run is sending, or died without telling (a killed run cannot
  release). Nobody may send; the caller raises so Lambda retries the event, then dead-letters it.
- SENT: done; a redelivery or replay changes nothing.

A run that fails before SES could have taken the message releases its own claim (``leaseUntil = 0``), so
its retry claims at once. A run that fails after SES took the message (or without knowing whether it did)
keeps the claim: its retries then fail on the live lease and the event reaches the dead-letter queue
rather than a second e-mail going out. Only a redrive after the lease has passed may send again, the one
case that can duplicate (SES has no idempotency key): better than never confirming, and the sweeper has
reported the expired claim by then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError, EndpointConnectionError

from lambdas.shared.adapters.aws_clients import client

SENT = "SENT"
SENDING = "SENDING"
HELD = "HELD"  # not stored: what ``claim`` answers when another run's lease is live
CLAIM_SK = "CONFIRMATION"
ORDER_PREFIX = "ORDER#"


@dataclass(frozen=True)
class Claim:
    """The state of an order's confirmation after a run tried to claim it."""

    status: str  # SENDING: this run holds the claim; SENT: sent before; HELD: another run's live lease
    owner: str = ""
    lease_until: int = 0
    message_id: str = ""

    @property
    def ours(self) -> bool:
        return self.status == SENDING


def _key(order_id: str, kind: str = "") -> dict[str, str]:
    return {"pk": f"{ORDER_PREFIX}{order_id}", "sk": kind or CLAIM_SK}


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
        "expiresAt": expires_at,
    }
    try:
        dynamo_table.put_item(
            Item=item,
            ConditionExpression="attribute_not_exists(pk) OR (#s = :sending AND leaseUntil < :now)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":sending": SENDING, ":now": now},
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        current = dynamo_table.get_item(Key=_key(order_id, kind), ConsistentRead=True).get("Item") or {}
        status = SENT if current.get("status") == SENT else HELD
        return Claim(
            status,
            str(current.get("owner", "")),
            int(current.get("leaseUntil", 0)),
            str(current.get("messageId", "")),
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
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def mark_sent(dynamo_table: Any, order_id: str, owner: str, message_id: str, kind: str = "") -> None:
    dynamo_table.update_item(
        Key=_key(order_id, kind),
        UpdateExpression="SET #s = :sent, messageId = :m, sentBy = :owner",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":sent": SENT, ":m": message_id, ":owner": owner},
    )


def never_reached_ses(error: BaseException) -> bool:
    """Whether a failed ``send_email`` certainly sent nothing: SES answered with an error, or could not be
    reached at all. Anything else (a read timeout, a connection dropped mid-answer) may have sent it."""
    return isinstance(error, ClientError | EndpointConnectionError)


def send_email(sender: str, to: str, subject: str, text: str, html: str) -> str:
    response = client("ses").send_email(
        Source=sender,
        Destination={"ToAddresses": [to]},
        Message={
            "Subject": {"Data": subject, "Charset": "UTF-8"},
            "Body": {"Text": {"Data": text, "Charset": "UTF-8"}, "Html": {"Data": html, "Charset": "UTF-8"}},
        },
    )
    return str(response["MessageId"])


def expired_claims(dynamo_table: Any, now: int) -> list[dict[str, Any]]:
    """Every SENDING claim whose lease has passed (for the sweeper): ``{orderId, owner, claimedAt,
    leaseUntil, maybeSent}``. Its event failed and is being retried or is in the notifications dead-letter
    queue. ``maybeSent`` is False for a claim its run released (``leaseUntil = 0``: SES never took the
    message, a redrive is safe) and True for one whose lease ran out (the run died or failed after SES may
    have taken it: check SES before a redrive, which would send again). A scan: the table holds one
    claim per order within the marker TTL, and the sweeper runs rarely."""
    kwargs: dict[str, Any] = {
        "FilterExpression": Attr("sk").eq(CLAIM_SK) & Attr("status").eq(SENDING) & Attr("leaseUntil").lt(now),
        "ConsistentRead": True,
    }
    found: list[dict[str, Any]] = []
    while True:
        page = dynamo_table.scan(**kwargs)
        found += [
            {
                "orderId": str(item["pk"]).removeprefix(ORDER_PREFIX),
                "owner": str(item.get("owner", "")),
                "claimedAt": int(item.get("claimedAt", 0)),
                "leaseUntil": int(item.get("leaseUntil", 0)),
                "maybeSent": int(item.get("leaseUntil", 0)) != 0,
            }
            for item in page["Items"]
        ]
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
