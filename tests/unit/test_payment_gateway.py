"""The simulated gateway's documented rules: what a shop owner can rely on when testing checkout."""

from __future__ import annotations

import pytest

from lambdas.shared import constants
from lambdas.shared.payment_gateway import (
    APPROVED,
    DECLINED,
    REVIEW,
    SimulatedPaymentGateway,
    charge_id_for,
    default_gateway,
    refund_id_for,
)


@pytest.mark.parametrize(
    ("token", "amount", "expected"),
    [
        ("tok_visa", 2974, APPROVED),
        ("tok_decline", 100, DECLINED),
        ("tok_decline_insufficient_funds", 100, DECLINED),
        ("tok_review", 100, REVIEW),
        ("tok_review_fraud", 100, REVIEW),
        ("tok_visa", 99_999, APPROVED),
        ("tok_visa", 100_000, REVIEW),  # the threshold itself needs review
        ("tok_decline", 500_000, DECLINED),  # a decline wins over the amount rule
    ],
)
def test_charge_rules(token: str, amount: int, expected: str) -> None:
    result = SimulatedPaymentGateway(review_threshold_cents=100_000).charge("ord-1", amount, "EUR", token)
    assert result.status == expected
    assert result.charge_id == charge_id_for("ord-1")
    assert bool(result.reason) == (expected != APPROVED)


def test_threshold_comes_from_the_environment_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(constants.ENV_PAYMENT_REVIEW_THRESHOLD, raising=False)
    assert SimulatedPaymentGateway().review_threshold_cents == constants.DEFAULT_PAYMENT_REVIEW_THRESHOLD_CENTS
    monkeypatch.setenv(constants.ENV_PAYMENT_REVIEW_THRESHOLD, "5000")
    gateway = default_gateway()
    assert gateway.charge("ord-1", 5000, "EUR", "tok_visa").status == REVIEW
    assert default_gateway().charge("ord-2", 4999, "EUR", "tok_visa").status == APPROVED


@pytest.mark.parametrize("raw", ["0", "-5", "ten", "1.5"])
def test_a_bad_threshold_setting_is_named(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(constants.ENV_PAYMENT_REVIEW_THRESHOLD, raw)
    with pytest.raises(RuntimeError, match=constants.ENV_PAYMENT_REVIEW_THRESHOLD):
        default_gateway()


def test_ids_are_deterministic_per_order() -> None:
    assert charge_id_for("ord-1") == charge_id_for("ord-1") != charge_id_for("ord-2")
    assert charge_id_for("ord-1").startswith("ch_")
    assert refund_id_for("ord-1").startswith("re_")


def test_the_idempotency_key_makes_repeats_harmless() -> None:
    gateway = SimulatedPaymentGateway(review_threshold_cents=100_000)
    first = gateway.charge("ord-1", 100, "EUR", "tok_visa")
    # Same key, even with another token: the first result, and no second charge.
    assert gateway.charge("ord-1", 100, "EUR", "tok_decline") == first
    assert len(gateway.charges) == 1
    assert gateway.refund("ord-1", first.charge_id, 100, "EUR") == gateway.refund("ord-1", first.charge_id, 100, "EUR")
    gateway.void("ord-2", None)
    gateway.void("ord-2", None)
    assert len(gateway.refunds) == 1
    assert len(gateway.voids) == 1
