"""Notifications: one send-marker per order (so a redelivery sends no second e-mail) and SES."""

from __future__ import annotations

from lambdas.shared.adapters.aws_clients import client, table
from lambdas.shared.adapters.dynamo import put_if

SENT = "SENT"
SENDING = "SENDING"


def _key(order_id: str) -> dict[str, str]:
    return {"pk": f"ORDER#{order_id}", "sk": "CONFIRMATION"}


def claim(table_name: str, order_id: str, now: int, lease_seconds: int, expires_at: int) -> bool:
    """Take the right to send this order's confirmation; False when it was sent or is being sent.

    A sender that crashed between SES and ``mark_sent`` leaves a SENDING lease; once it has passed,
    a retry may send again (the one case that can duplicate: better than never confirming).
    """
    item = {**_key(order_id), "status": SENDING, "leaseUntil": now + lease_seconds, "expiresAt": expires_at}
    condition = "attribute_not_exists(pk) OR (#s <> :sent AND leaseUntil < :now)"
    return put_if(table_name, item, condition, {":sent": SENT, ":now": now}, s="status")


def release(table_name: str, order_id: str) -> None:
    """The send failed: let the next retry claim at once."""
    table(table_name).update_item(
        Key=_key(order_id), UpdateExpression="SET leaseUntil = :zero", ExpressionAttributeValues={":zero": 0}
    )


def mark_sent(table_name: str, order_id: str, message_id: str) -> None:
    table(table_name).update_item(
        Key=_key(order_id),
        UpdateExpression="SET #s = :sent, messageId = :m",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":sent": SENT, ":m": message_id},
    )


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
