"""The payment gateway port, and the deterministic simulated gateway the reference system ships with.

Every call carries an idempotency key, the order id: a gateway (like Stripe's or Adyen's APIs)
returns the first result again for a repeated key instead of moving money twice. Our own code
also records each charge once (see lambdas/collect_payment), so both sides guard a retry.
The simulated gateway keeps the provider's own durable ledger (a table apart from our payments
table, see ``gateway_records``), so an audit can compare what we think with what the provider did.
A real gateway adapter implements ``PaymentGateway`` and replaces ``default_gateway``.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final, Literal, NamedTuple, Protocol

from lambdas.shared.adapters.aws_clients import table
from lambdas.shared.adapters.payments import GatewayLedger, OperationConflict
from lambdas.shared.clock import iso, utc_now
from lambdas.shared.payment_inputs import format_amount

ChargeStatus = Literal["APPROVED", "REVIEW", "DECLINED"]
APPROVED: Final = "APPROVED"
REVIEW: Final = "REVIEW"
DECLINED: Final = "DECLINED"

DECLINE_TOKEN_PREFIX: Final = "tok_decline"
REVIEW_TOKEN_PREFIX: Final = "tok_review"


class ChargeResult(NamedTuple):
    status: ChargeStatus
    charge_id: str
    # Why the gateway declined or wants a review; empty when approved.
    reason: str = ""


class PaymentGateway(Protocol):
    """What the workflow needs from a payment provider. ``idempotency_key`` is the order id."""

    def charge(self, idempotency_key: str, amount_cents: int, currency: str, token: str) -> ChargeResult:
        """Authorise and capture; a review result holds the authorisation until someone decides."""
        ...

    def refund(self, idempotency_key: str, charge_id: str, amount_cents: int, currency: str) -> str:
        """Return a captured charge in full; returns the refund id."""
        ...

    def void(self, idempotency_key: str, charge_id: str | None) -> None:
        """Release an authorisation that was never settled (a pending or rejected review).

        ``charge_id`` is None when the charge's outcome was never recorded: the key names it.
        Raises AlreadyCaptured when the charge under the key was captured (refund it instead)."""
        ...


def charge_id_for(order_id: str) -> str:
    """The charge id of an order: the same order always yields the same id."""
    return "ch_" + _digest(order_id)


def refund_id_for(order_id: str) -> str:
    return "re_" + _digest(order_id)


def _digest(order_id: str) -> str:
    return hashlib.sha256(order_id.encode()).hexdigest()[:24]


class GatewayRefusal(Exception):
    """The gateway refused an operation, as a real one answers a request it cannot honour."""


class AlreadyCaptured(GatewayRefusal):
    """A void of a charge the gateway captured: only a refund gives that money back."""

    def __init__(self, charge_id: str) -> None:
        super().__init__(f"charge {charge_id} was captured: it cannot be voided, refund it")
        self.charge_id = charge_id


# The operations the simulated gateway records, one record per (idempotency key, operation).
CHARGE: Final = "CHARGE"
REFUND: Final = "REFUND"
VOID: Final = "VOID"
# Charge outcomes that took (or hold) the customer's money: a REVIEW charge is held until the
# review; a void before the order continues releases it, a refund afterwards returns it.
TAKEN: Final = frozenset({APPROVED, REVIEW})


class GatewayRecords(Protocol):
    """Where the simulated gateway keeps its records (lambdas.shared.adapters.payments.GatewayLedger)."""

    def get(self, key: str, operation: str) -> dict[str, Any] | None: ...

    def first(self, key: str, operation: str, record: dict[str, Any], unless: str | None = None) -> dict[str, Any]: ...


class InMemoryGatewayRecords:
    """The same records within one process: for the examples and docs, which need no AWS.
    The functions use the durable GatewayLedger (see ``default_gateway``)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}

    def get(self, key: str, operation: str) -> dict[str, Any] | None:
        return self.items.get((key, operation))

    def first(self, key: str, operation: str, record: dict[str, Any], unless: str | None = None) -> dict[str, Any]:
        if (key, operation) not in self.items and unless and (key, unless) in self.items:
            raise OperationConflict(self.items[(key, unless)])
        return self.items.setdefault((key, operation), {**record, "idempotencyKey": key, "operation": operation})


class SimulatedPaymentGateway:
    """A deterministic stand-in for a card gateway; no money moves and no network is used.

    Rules for ``charge``, first match wins:

    1. a payment token starting with ``tok_decline`` -> DECLINED
    2. a payment token starting with ``tok_review``  -> REVIEW (fraud screening wants a person)
    3. ``amount_cents >= review_threshold_cents``    -> REVIEW (the functions: env
       PAYMENT_REVIEW_THRESHOLD_CENTS, which the stack sets from cdk.json)
    4. otherwise                                      -> APPROVED

    The charge id is derived from the idempotency key (``ch_`` + 24 hex digits of its SHA-256), the
    refund id likewise (``re_``). Like a real gateway it keeps its own records (``records``: in the
    stack a DynamoDB table of its own, so every container sees them) and honours the idempotency key:
    a repeated charge, refund or void returns the first result and records nothing again. It refuses
    (GatewayRefusal) what a real gateway refuses:

    - a refund with no charge that took money under the key (none, or DECLINED), of another charge
      id, of more than was charged, or after a void;
    - a void of a captured (APPROVED) charge (AlreadyCaptured: refund it), or after a refund.
    A void with no charge under the key is recorded with ``released: false`` (nothing was held): the
    compensation of a payment whose charge never reached the gateway leaves that trace.
    """

    def __init__(self, records: GatewayRecords, review_threshold_cents: int) -> None:
        self.records = records
        self.review_threshold_cents = review_threshold_cents

    def charge(self, idempotency_key: str, amount_cents: int, currency: str, token: str) -> ChargeResult:
        stored = self.records.get(idempotency_key, CHARGE)
        if stored is None:
            status, reason = self._decide(amount_cents, currency, token)
            record = {
                "chargeId": charge_id_for(idempotency_key),
                "status": status,
                "reason": reason,
                "amountCents": amount_cents,
                "currency": currency,
                "recordedAt": iso(utc_now()),
            }
            stored = self.records.first(idempotency_key, CHARGE, record)
        return ChargeResult(status=stored["status"], charge_id=stored["chargeId"], reason=stored.get("reason", ""))

    def _decide(self, amount_cents: int, currency: str, token: str) -> tuple[ChargeStatus, str]:
        if token.startswith(DECLINE_TOKEN_PREFIX):
            return DECLINED, "The card issuer declined the payment."
        if token.startswith(REVIEW_TOKEN_PREFIX):
            return REVIEW, "Fraud screening flagged the card for manual review."
        if amount_cents >= self.review_threshold_cents:
            limit = format_amount(self.review_threshold_cents, currency)
            return REVIEW, f"Amounts of {limit} or more need a manual review."
        return APPROVED, ""

    def refund(self, idempotency_key: str, charge_id: str, amount_cents: int, currency: str) -> str:
        charge = self.records.get(idempotency_key, CHARGE)
        if charge is None or charge["status"] not in TAKEN:
            found = f"its charge was {charge['status']}" if charge else "nothing was charged"
            raise GatewayRefusal(f"refund under {idempotency_key} refused: {found}")
        if charge_id != charge["chargeId"] or amount_cents > charge["amountCents"] or currency != charge["currency"]:
            raise GatewayRefusal(
                f"refund of {format_amount(amount_cents, currency)} on {charge_id} refused: the charge under "
                f"{idempotency_key} is {charge['chargeId']}, {format_amount(charge['amountCents'], charge['currency'])}"
            )
        record = {
            "chargeId": charge_id,
            "refundId": refund_id_for(idempotency_key),
            "amountCents": amount_cents,
            "currency": currency,
            "recordedAt": iso(utc_now()),
        }
        try:
            return str(self.records.first(idempotency_key, REFUND, record, unless=VOID)["refundId"])
        except OperationConflict:
            raise GatewayRefusal(f"refund under {idempotency_key} refused: the charge was voided") from None

    def void(self, idempotency_key: str, charge_id: str | None) -> None:
        charge = self.records.get(idempotency_key, CHARGE)
        if charge is not None and charge["status"] == APPROVED:
            raise AlreadyCaptured(charge["chargeId"])
        record = {
            "chargeId": charge["chargeId"] if charge else charge_id,
            "released": charge is not None and charge["status"] == REVIEW,
            "recordedAt": iso(utc_now()),
        }
        try:
            self.records.first(idempotency_key, VOID, record, unless=REFUND)
        except OperationConflict:
            raise GatewayRefusal(f"void under {idempotency_key} refused: the charge was refunded") from None


class OrderGatewayRecords(NamedTuple):
    """What the gateway itself recorded for one order (idempotency key): the audit's view."""

    order_id: str
    charge: dict[str, Any] | None
    refund: dict[str, Any] | None
    void: dict[str, Any] | None

    @property
    def captured(self) -> bool:
        """The gateway took (or holds) the customer's money for this order."""
        return self.charge is not None and self.charge["status"] in TAKEN

    @property
    def given_back(self) -> bool:
        """A refund, or a void that released a held charge, returned it."""
        return self.refund is not None or (self.void is not None and bool(self.void.get("released")))

    @classmethod
    def of(cls, order_id: str, records: list[dict[str, Any]]) -> OrderGatewayRecords:
        by_operation = {record["operation"]: record for record in records}
        return cls(order_id, by_operation.get(CHARGE), by_operation.get(REFUND), by_operation.get(VOID))


def gateway_records(order_ids: list[str] | None, ledger: GatewayLedger) -> dict[str, OrderGatewayRecords]:
    """The gateway's own records by order id: of these orders, or (None) of every order it saw.

    ``ledger``: e.g. ``GatewayLedger(dynamodb.Table(outputs[constants.OUTPUT_GATEWAY_LEDGER_TABLE]))``.
    Each record (by construction of the conditional puts) exists at most once per order and operation:
    the audit "captured at most once, every capture of a failed order refunded or voided once" reads
    ``captured`` and ``given_back``."""
    if order_ids is None:
        return {key: OrderGatewayRecords.of(key, items) for key, items in ledger.all_records().items()}
    return {order_id: OrderGatewayRecords.of(order_id, ledger.records(order_id)) for order_id in order_ids}


def default_gateway(ledger_table: str, review_threshold_cents: int) -> PaymentGateway:
    """The gateway handlers use, keeping its records in the gateway ledger table; tests replace it."""
    return SimulatedPaymentGateway(GatewayLedger(table(ledger_table)), review_threshold_cents)
