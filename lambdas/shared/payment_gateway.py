"""The payment gateway port, and the deterministic simulated gateway the reference system ships with.

Every call carries an idempotency key, the order id: a gateway (like Stripe's or Adyen's APIs)
returns the first result again for a repeated key instead of moving money twice. Our own code
also records each charge once (see lambdas/collect_payment), so both sides guard a retry.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Final, Literal, Protocol

from lambdas.shared import constants
from lambdas.shared.payment_inputs import format_amount, positive_int_setting

ChargeStatus = Literal["APPROVED", "REVIEW", "DECLINED"]
APPROVED: Final = "APPROVED"
REVIEW: Final = "REVIEW"
DECLINED: Final = "DECLINED"

DECLINE_TOKEN_PREFIX: Final = "tok_decline"
REVIEW_TOKEN_PREFIX: Final = "tok_review"


@dataclass(frozen=True)
class ChargeResult:
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

        ``charge_id`` is None when the charge's outcome was never recorded: the key names it."""
        ...


def charge_id_for(order_id: str) -> str:
    """The charge id of an order: the same order always yields the same id."""
    return "ch_" + _digest(order_id)


def refund_id_for(order_id: str) -> str:
    return "re_" + _digest(order_id)


def _digest(order_id: str) -> str:
    return hashlib.sha256(order_id.encode()).hexdigest()[:24]


def review_threshold_cents() -> int:
    """PAYMENT_REVIEW_THRESHOLD_CENTS, read at call time, or the default in constants."""
    return positive_int_setting(
        constants.ENV_PAYMENT_REVIEW_THRESHOLD, constants.DEFAULT_PAYMENT_REVIEW_THRESHOLD_CENTS
    )


@dataclass
class SimulatedPaymentGateway:
    """A deterministic stand-in for a card gateway; no money moves and no network is used.

    Rules for ``charge``, first match wins:

    1. a payment token starting with ``tok_decline`` -> DECLINED
    2. a payment token starting with ``tok_review``  -> REVIEW (fraud screening wants a person)
    3. ``amount_cents >= review_threshold_cents``    -> REVIEW (default: env
       PAYMENT_REVIEW_THRESHOLD_CENTS, else constants.DEFAULT_PAYMENT_REVIEW_THRESHOLD_CENTS)
    4. otherwise                                      -> APPROVED

    The charge id is derived from the idempotency key (``ch_`` + 24 hex digits of its SHA-256), the
    refund id likewise (``re_``). Like a real gateway it honours the idempotency key within one
    instance: a repeated charge, refund or void returns the first result and is not recorded again.
    ``charges``, ``refunds`` and ``voids`` list the effective operations (tests count them).
    """

    review_threshold_cents: int = field(default_factory=review_threshold_cents)
    charges: list[tuple[str, ChargeResult]] = field(default_factory=list)
    refunds: list[tuple[str, str, int]] = field(default_factory=list)
    voids: list[tuple[str, str | None]] = field(default_factory=list)

    def charge(self, idempotency_key: str, amount_cents: int, currency: str, token: str) -> ChargeResult:
        for key, earlier in self.charges:
            if key == idempotency_key:
                return earlier
        status, reason = self._decide(amount_cents, currency, token)
        result = ChargeResult(status=status, charge_id=charge_id_for(idempotency_key), reason=reason)
        self.charges.append((idempotency_key, result))
        return result

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
        if not any(key == idempotency_key for key, _, _ in self.refunds):
            self.refunds.append((idempotency_key, charge_id, amount_cents))
        return refund_id_for(idempotency_key)

    def void(self, idempotency_key: str, charge_id: str | None) -> None:
        if not any(key == idempotency_key for key, _ in self.voids):
            self.voids.append((idempotency_key, charge_id))


def default_gateway() -> PaymentGateway:
    """The gateway handlers use; tests replace it to count calls."""
    return SimulatedPaymentGateway()
