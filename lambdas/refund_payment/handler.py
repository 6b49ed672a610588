"""RefundPayment task (compensation): {orderId} -> {refunded, status}."""

from __future__ import annotations

from typing import Any

from lambdas.refund_payment import logic
from lambdas.shared.adapters.ledger import LedgerTable
from lambdas.shared.adapters.payments import PaymentsTable
from lambdas.shared.observability import lambda_handler, logger
from lambdas.shared.payment_gateway import default_gateway
from lambdas.shared.payment_inputs import utc_now


@lambda_handler(correlation_id_path="orderId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    order_id = logic.parse(event)
    result = logic.compensate(order_id, PaymentsTable.from_env(), LedgerTable.from_env(), default_gateway(), utc_now())
    logger.info("payment compensated", extra={"paymentStatus": result["status"], "refunded": result["refunded"]})
    return result
