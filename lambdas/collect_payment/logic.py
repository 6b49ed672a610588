"""Charge an order exactly once.

The payments item is claimed (status CHARGING, written only if the order has no item yet)
*before* the gateway is called, and the outcome is recorded with a write conditional on that
claim. So a retry, a duplicate or a concurrent invocation returns the stored outcome instead
of charging again; if an attempt died between the claim and the record, the next one calls
the gateway again with the same idempotency key (the order id), which returns the first charge.

An order from a marketplace or a store was paid there (payment method ``prepaid``, checked by ValidateOrder):
the payments item records it as PREPAID, with the channel's payment reference, and the gateway is never
called; RefundPayment leaves a PREPAID payment as it is (we never refund what we did not charge).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from lambdas.shared import constants
from lambdas.shared import payment_gateway as gw
from lambdas.shared import payment_status as status
from lambdas.shared.clock import iso
from lambdas.shared.durations import span
from lambdas.shared.errors import InvalidOrder, PaymentDeclined
from lambdas.shared.payment_inputs import Fields, format_amount

if TYPE_CHECKING:
    from lambdas.shared.payment_gateway import PaymentGateway

_LABEL = "CollectPayment input"
# What the gateway said -> what the payments item records.
# The task output of a channel order's payment (PaymentOutcome routes it like APPROVED, or past the warehouse
# when the goods were handed over), and the charge id it records: the channel's payment reference.
PREPAID: Final = status.PREPAID
PREPAID_CHARGE_PREFIX: Final = "prepaid:"
_RECORDED_STATUS = {gw.APPROVED: status.APPROVED, gw.REVIEW: status.REVIEW_PENDING, gw.DECLINED: status.DECLINED}


class ChargeRequest(NamedTuple):
    order_id: str
    customer_id: str
    amount_cents: int
    currency: str
    method: str
    token: str


def parse(event: object) -> ChargeRequest:
    fields = Fields(event, InvalidOrder, _LABEL)
    payment = fields.obj("payment")
    return ChargeRequest(
        order_id=fields.order_id(),
        customer_id=fields.text("customerId"),
        amount_cents=fields.integer("amountCents", minimum=1),
        currency=fields.currency(),
        method=payment.text("method"),
        token=payment.text("token"),
    )


def collect(
    request: ChargeRequest,
    payments: status.PaymentStore,
    gateway: PaymentGateway,
    review_timeout_seconds: int,
    now: datetime,
) -> dict[str, Any]:
    """{status: APPROVED | REVIEW | PREPAID, chargeId, reviewTimeoutSeconds, reviewTimeout}; raises PaymentDeclined."""
    if request.method == constants.PAYMENT_METHOD_PREPAID:
        return record_prepaid(request, payments, review_timeout_seconds, now)
    claim = {
        "orderId": request.order_id,
        "status": status.CHARGING,
        "customerId": request.customer_id,
        "amountCents": request.amount_cents,
        "currency": request.currency,
        "paymentMethod": request.method,
        "createdAt": iso(now),
    }
    if not payments.create(claim):
        stored = _stored(payments, request)
        if stored["status"] != status.CHARGING:
            return outcome(stored, review_timeout_seconds)
        # The claim exists but no outcome: an earlier attempt died mid-call. Finish it below.

    result = gateway.charge(request.order_id, request.amount_cents, request.currency, request.token)
    record = {"status": _RECORDED_STATUS[result.status], "chargeId": result.charge_id, "chargedAt": iso(now)}
    if result.reason:
        record["gatewayReason"] = result.reason
    if not payments.update(request.order_id, status.CHARGING, record):
        # A concurrent attempt recorded first (or a compensation moved on): its record wins.
        return outcome(_stored(payments, request), review_timeout_seconds)
    return outcome({**claim, **record}, review_timeout_seconds)


def record_prepaid(
    request: ChargeRequest, payments: status.PaymentStore, review_timeout_seconds: int, now: datetime
) -> dict[str, Any]:
    """Record a payment the marketplace or store collected: once per order, no gateway call."""
    item = {
        "orderId": request.order_id,
        "status": status.PREPAID,
        "customerId": request.customer_id,
        "amountCents": request.amount_cents,
        "currency": request.currency,
        "paymentMethod": request.method,
        "chargeId": f"{PREPAID_CHARGE_PREFIX}{request.token}",
        "createdAt": iso(now),
    }
    if payments.create(item):
        return outcome(item, review_timeout_seconds)
    return outcome(_stored(payments, request), review_timeout_seconds)


def _stored(payments: status.PaymentStore, request: ChargeRequest) -> dict[str, Any]:
    stored = payments.get(request.order_id)
    if stored is None:  # pragma: no cover - payment items are never deleted
        raise RuntimeError(f"payment item of order {request.order_id} vanished")
    if (stored["amountCents"], stored["currency"]) != (request.amount_cents, request.currency):
        # Same order id, different money: never charge a second amount under one order.
        raise InvalidOrder(
            f"{_LABEL}: order {request.order_id} already has a payment of "
            f"{format_amount(stored['amountCents'], stored['currency'])}, "
            f"not {format_amount(request.amount_cents, request.currency)}"
        )
    return stored


def outcome(item: dict[str, Any], review_timeout_seconds: int) -> dict[str, Any]:
    """The task output for a recorded payment, or PaymentDeclined when it cannot proceed."""
    state = item["status"]
    if state in (status.APPROVED, status.REVIEW_APPROVED):
        result = gw.APPROVED
    elif state == status.PREPAID:
        result = PREPAID
    elif state == status.REVIEW_PENDING:
        result = gw.REVIEW
    else:
        raise PaymentDeclined(_declined_message(item))
    # The seconds drive the task token's timeout; the text ("72 h") is what a person reads in the timeout's
    # cause (the ASL cannot divide), said as the stack's reviewTimeoutHours was configured.
    return {
        "status": result,
        "chargeId": item["chargeId"],
        "reviewTimeoutSeconds": review_timeout_seconds,
        "reviewTimeout": span(review_timeout_seconds),
    }


def _declined_message(item: dict[str, Any]) -> str:
    amount = format_amount(item["amountCents"], item["currency"])
    subject = f"The payment of {amount} for order {item['orderId']}"
    state = item["status"]
    if state == status.DECLINED:
        return f"{subject} was declined: {item.get('gatewayReason') or 'the gateway gave no reason.'}"
    if state == status.REVIEW_REJECTED:
        return f"{subject} was rejected in review by {item.get('reviewer', 'a reviewer')}."
    return f"{subject} is already {state.lower()}; place a new order to pay again."
