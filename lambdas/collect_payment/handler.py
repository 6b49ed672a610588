"""CollectPayment task: {orderId, customerId, amountCents, currency, payment}
-> {status: APPROVED | REVIEW | PREPAID, chargeId, reviewTimeoutSeconds, reviewTimeout ("72 h")};
a decline raises Order.PaymentDeclined."""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

from lambdas.collect_payment import logic
from lambdas.shared import constants
from lambdas.shared.adapters.aws_clients import table
from lambdas.shared.adapters.payments import PaymentsTable
from lambdas.shared.clock import utc_now
from lambdas.shared.observability import lambda_handler, logger
from lambdas.shared.payment_gateway import default_gateway
from lambdas.shared.settings import positive_int, text


class Settings(NamedTuple):
    payments_table: str
    gateway_ledger_table: str
    review_threshold_cents: int
    review_timeout_seconds: int


@cache
def settings() -> Settings:
    """Read once per container, at its first invocation."""
    return Settings(
        text(constants.ENV_PAYMENTS_TABLE),
        text(constants.ENV_GATEWAY_LEDGER_TABLE),
        positive_int(constants.ENV_PAYMENT_REVIEW_THRESHOLD),
        positive_int(constants.ENV_REVIEW_TIMEOUT_SECONDS),
    )


@lambda_handler(correlation_id_path="orderId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    s = settings()
    request = logic.parse(event)
    payments = PaymentsTable(table(s.payments_table))
    gateway = default_gateway(s.gateway_ledger_table, s.review_threshold_cents)
    result = logic.collect(request, payments, gateway, s.review_timeout_seconds, utc_now())
    logger.info("payment collected", extra={"paymentStatus": result["status"], "amountCents": request.amount_cents})
    return result
