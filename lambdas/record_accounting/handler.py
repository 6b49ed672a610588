"""RecordAccounting task: {orderId, pricing, chargeId} -> {transactionId}."""

from __future__ import annotations

from typing import Any

from lambdas.record_accounting import logic
from lambdas.shared.adapters.ledger import LedgerTable
from lambdas.shared.observability import lambda_handler, logger
from lambdas.shared.payment_inputs import utc_now


@lambda_handler(correlation_id_path="orderId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = logic.parse(event)
    result = logic.record_sale(request, LedgerTable.from_env(), utc_now())
    logger.info("sale booked", extra={"transactionId": result["transactionId"], "amountCents": request.total_cents})
    return result
