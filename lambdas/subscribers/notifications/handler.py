"""OrderCompleted -> one order confirmation e-mail through SES (once per order)."""

from __future__ import annotations

import time
from typing import Any

from lambdas.shared import constants
from lambdas.shared.adapters import notifications
from lambdas.shared.adapters.aws_clients import env
from lambdas.shared.events import marker_expiry
from lambdas.shared.observability import lambda_handler, logger
from lambdas.subscribers import count_delivery
from lambdas.subscribers.notifications.logic import confirmation


@lambda_handler(correlation_id_path="detail.metadata.correlationId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    detail = event["detail"]
    order_id = detail["data"]["orderId"]
    table_name = env(constants.ENV_SUBSCRIBER_TABLE)
    expires_at = marker_expiry(detail, int(env(constants.ENV_MARKER_TTL_DAYS)))
    if not notifications.claim(
        table_name, order_id, int(time.time()), constants.NOTIFICATION_LEASE_SECONDS, expires_at
    ):
        count_delivery("notifications", False)
        logger.info("confirmation already sent or being sent (redelivery)")
        return {"orderId": order_id, "sent": False}
    email = confirmation(detail["data"])
    try:
        message_id = notifications.send_email(
            env(constants.ENV_NOTIFICATION_SENDER), email.to, email.subject, email.text, email.html
        )
    except Exception:
        notifications.release(table_name, order_id)
        raise  # EventBridge/Lambda retry it; after that it lands in the dead-letter queue
    notifications.mark_sent(table_name, order_id, message_id)
    count_delivery("notifications", True)
    logger.info("confirmation sent", extra={"messageId": message_id})
    return {"orderId": order_id, "sent": True, "messageId": message_id}
