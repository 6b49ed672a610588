"""RefundPayment task (compensation): {orderId} -> {refunded, status}."""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

from lambdas.refund_payment import logic
from lambdas.shared import constants
from lambdas.shared.adapters.aws_clients import table
from lambdas.shared.adapters.ledger import LedgerTable
from lambdas.shared.adapters.payments import PaymentsTable
from lambdas.shared.clock import utc_now
from lambdas.shared.observability import lambda_handler, logger
from lambdas.shared.payment_gateway import default_gateway
from lambdas.shared.settings import positive_int, text


class Settings(NamedTuple):
    payments_table: str
    ledger_table: str
    gateway_ledger_table: str
    review_threshold_cents: int


@cache
def settings() -> Settings:
    """Read once per container, at its first invocation."""
    return Settings(
        text(constants.ENV_PAYMENTS_TABLE),
        text(constants.ENV_LEDGER_TABLE),
        text(constants.ENV_GATEWAY_LEDGER_TABLE),
        positive_int(constants.ENV_PAYMENT_REVIEW_THRESHOLD),
    )


@lambda_handler(correlation_id_path="orderId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    s = settings()
    order_id = logic.parse(event)
    payments, ledger = PaymentsTable(table(s.payments_table)), LedgerTable(table(s.ledger_table))
    gateway = default_gateway(s.gateway_ledger_table, s.review_threshold_cents)
    result = logic.compensate(order_id, payments, ledger, gateway, utc_now())
    logger.info("payment compensated", extra={"paymentStatus": result["status"], "refunded": result["refunded"]})
    return result
