"""Give an order's money back, once, whatever state its payment reached.

| payment status                               | action                                    | result    |
|----------------------------------------------|-------------------------------------------|-----------|
| APPROVED, REVIEW_APPROVED (delivered)        | gateway refund (+ ledger reversal if booked) | REFUNDED |
| REVIEW_PENDING, REVIEW_REJECTED, CHARGING,   | gateway void (nothing was settled)        | VOIDED    |
| REVIEW_APPROVED not yet delivered            |                                           |           |
| CHARGING the gateway had captured            | gateway refund (its void is refused)      | REFUNDED  |
| DECLINED, no payment item                    | nothing was charged                       | unchanged |
| REFUNDED, VOIDED                             | already done                              | unchanged |

Each move is a write conditional on the status read, so of two concurrent calls one moves and
the other re-reads and reports the result; the gateway's idempotency key (the order id) keeps
a repeated gateway call from moving money twice. The ledger reversal is written before the
status, so a crash in between is completed by the retry rather than forgotten.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from lambdas.shared import ledger
from lambdas.shared import payment_status as status
from lambdas.shared.clock import iso
from lambdas.shared.errors import InvalidOrder
from lambdas.shared.payment_gateway import AlreadyCaptured
from lambdas.shared.payment_inputs import Fields

if TYPE_CHECKING:
    from lambdas.shared.payment_gateway import PaymentGateway

NO_PAYMENT: Final = "NO_PAYMENT"
_REFUNDABLE: Final = frozenset({status.APPROVED, status.REVIEW_APPROVED})
_VOIDABLE: Final = frozenset({status.REVIEW_PENDING, status.REVIEW_REJECTED, status.CHARGING})
# Lost races tolerated before giving up (Step Functions then retries the task).
_ATTEMPTS: Final = 3


def parse(event: object) -> str:
    return Fields(event, InvalidOrder, "RefundPayment input").order_id()


def compensate(
    order_id: str,
    payments: status.PaymentStore,
    ledger_table: ledger.LedgerStore,
    gateway: PaymentGateway,
    now: datetime,
) -> dict[str, Any]:
    """Returns {refunded: status is REFUNDED, status}: the same answer however often it is called."""
    for _ in range(_ATTEMPTS):
        item = payments.get(order_id)
        if item is None:
            return result(NO_PAYMENT)
        current = item["status"]
        if current in _VOIDABLE or (current == status.REVIEW_APPROVED and item.get(status.CALLBACK_DELIVERED) is False):
            moved = _void(item, payments, ledger_table, gateway, now)
        elif current in _REFUNDABLE:
            moved = status.REFUNDED if _refund(item, payments, ledger_table, gateway, now) else None
        else:
            return result(current)
        if moved:
            return result(moved)
    raise RuntimeError(f"payment of order {order_id} kept changing while being compensated")


def result(final_status: str) -> dict[str, Any]:
    return {"refunded": final_status == status.REFUNDED, "status": final_status}


def _refund(
    item: dict[str, Any],
    payments: status.PaymentStore,
    ledger_table: ledger.LedgerStore,
    gateway: PaymentGateway,
    now: datetime,
    charge_id: str | None = None,
) -> bool:
    order_id = item["orderId"]
    refund_id = gateway.refund(order_id, charge_id or item["chargeId"], item["amountCents"], item["currency"])
    sale = ledger_table.get(order_id, ledger.SALE)
    if sale is not None:
        reversal = {
            "transactionId": ledger.transaction_id(order_id, ledger.REFUND),
            "reverses": sale["transactionId"],
            "refundId": refund_id,
            "currency": sale["currency"],
            "amountCents": int(sale["amountCents"]),
            "bookedAt": iso(now),
        }
        ledger_table.put_once(order_id, ledger.REFUND, reversal, ledger.reversal_entries(sale["entries"]))
    values = {"status": status.REFUNDED, "refundId": refund_id, "refundedAt": iso(now)}
    if charge_id and "chargeId" not in item:
        values["chargeId"] = charge_id
    # The token goes (a CHARGING item has none, a delivered approval neither): nobody resumes an unwound order.
    return payments.update(order_id, item["status"], values, remove=("taskToken",))


def _void(
    item: dict[str, Any],
    payments: status.PaymentStore,
    ledger_table: ledger.LedgerStore,
    gateway: PaymentGateway,
    now: datetime,
) -> str | None:
    """VOIDED, or REFUNDED when the gateway had captured a charge we never recorded (CHARGING)."""
    order_id = item["orderId"]
    try:
        gateway.void(order_id, item.get("chargeId"))
    except AlreadyCaptured as captured:
        # CollectPayment died after the gateway took the money: give it back (spec: refunded once).
        return status.REFUNDED if _refund(item, payments, ledger_table, gateway, now, captured.charge_id) else None
    # The token goes: a reviewer must not resume an order that is being unwound.
    voided = payments.update(
        order_id,
        item["status"],
        {"status": status.VOIDED, "voidedFrom": item["status"], "voidedAt": iso(now)},
        remove=("taskToken",),
    )
    return status.VOIDED if voided else None
