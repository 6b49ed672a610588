"""CollectPayment task: {orderId, customerId, amountCents, currency, payment}
-> {status: APPROVED | REVIEW, chargeId, reviewTimeoutSeconds}; a decline raises Order.PaymentDeclined."""

from __future__ import annotations

from typing import Any

from lambdas.collect_payment import logic
from lambdas.shared.adapters.payments import PaymentsTable
from lambdas.shared.observability import lambda_handler, logger
from lambdas.shared.payment_gateway import default_gateway
from lambdas.shared.payment_inputs import review_timeout_seconds, utc_now


@lambda_handler(correlation_id_path="orderId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = logic.parse(event)
    result = logic.collect(request, PaymentsTable.from_env(), default_gateway(), review_timeout_seconds(), utc_now())
    logger.info("payment collected", extra={"paymentStatus": result["status"], "amountCents": request.amount_cents})
    return result
