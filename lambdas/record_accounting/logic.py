"""Book an order's sale: one balanced transaction per order, whatever the number of attempts.

The transaction id is derived from the order id and the item is written only if the order has
no sale yet, so a retry returns the id that is already booked and never books twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from lambdas.shared import ledger
from lambdas.shared.clock import iso
from lambdas.shared.errors import InvalidOrder
from lambdas.shared.payment_inputs import Fields

_LABEL = "RecordAccounting input"


class SaleRequest(NamedTuple):
    order_id: str
    charge_id: str
    currency: str
    subtotal_cents: int
    tax_cents: int
    shipping_cents: int
    total_cents: int


def parse(event: object) -> SaleRequest:
    fields = Fields(event, InvalidOrder, _LABEL)
    pricing = fields.obj("pricing")
    return SaleRequest(
        order_id=fields.order_id(),
        charge_id=fields.text("chargeId"),
        currency=pricing.currency(),
        subtotal_cents=pricing.integer("subtotalCents"),
        tax_cents=pricing.integer("taxCents"),
        shipping_cents=pricing.integer("shippingCents"),
        total_cents=pricing.integer("totalCents", minimum=1),
    )


def record_sale(request: SaleRequest, ledger_table: ledger.LedgerStore, now: datetime) -> dict[str, Any]:
    """Returns {transactionId}; raises UnbalancedTransaction before writing if it would not balance."""
    entries = ledger.sale_entries(
        request.subtotal_cents, request.tax_cents, request.shipping_cents, request.total_cents
    )
    transaction = {
        "transactionId": ledger.transaction_id(request.order_id, ledger.SALE),
        "chargeId": request.charge_id,
        "currency": request.currency,
        "amountCents": request.total_cents,
        "bookedAt": iso(now),
    }
    return {"transactionId": ledger_table.put_once(request.order_id, ledger.SALE, transaction, entries)}
