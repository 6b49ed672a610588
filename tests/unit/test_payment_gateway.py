"""The simulated gateway's documented rules: what a shop owner can rely on when testing checkout,
and its own durable ledger (the provider's records, apart from our payments table)."""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.collect_payment import handler as collect_handler
from lambdas.refund_payment import handler as refund_handler
from lambdas.shared import constants
from lambdas.shared.adapters.payments import GatewayLedger
from lambdas.shared.payment_gateway import (
    APPROVED,
    DECLINED,
    REVIEW,
    AlreadyCaptured,
    GatewayRefusal,
    InMemoryGatewayRecords,
    SimulatedPaymentGateway,
    charge_id_for,
    default_gateway,
    gateway_records,
    refund_id_for,
)
from lambdas.shared.settings import SettingError
from tests.unit.payment_support import gateway_ledger

THRESHOLD = 100_000


@pytest.fixture
def ledger(aws: None, monkeypatch: pytest.MonkeyPatch) -> GatewayLedger:
    return gateway_ledger(monkeypatch)


def container(ledger: GatewayLedger) -> SimulatedPaymentGateway:
    """A gateway as one Lambda container builds it: its own object, the shared table."""
    return SimulatedPaymentGateway(ledger, THRESHOLD)


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
    result = SimulatedPaymentGateway(InMemoryGatewayRecords(), THRESHOLD).charge("ord-1", amount, "EUR", token)
    assert result.status == expected
    assert result.charge_id == charge_id_for("ord-1")
    assert bool(result.reason) == (expected != APPROVED)


def test_the_functions_threshold_comes_from_their_settings(
    ledger: GatewayLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(constants.ENV_PAYMENTS_TABLE, "payments")
    monkeypatch.setenv(constants.ENV_REVIEW_TIMEOUT_SECONDS, "60")
    monkeypatch.setenv(constants.ENV_PAYMENT_REVIEW_THRESHOLD, "5000")
    settings = collect_handler.settings()
    gateway = default_gateway(settings.gateway_ledger_table, settings.review_threshold_cents)
    assert gateway.charge("ord-1", 5000, "EUR", "tok_visa").status == REVIEW
    assert gateway.charge("ord-2", 4999, "EUR", "tok_visa").status == APPROVED


@pytest.mark.parametrize("raw", ["", "0", "-5", "ten", "1.5"])
def test_a_missing_or_bad_threshold_setting_is_named(
    ledger: GatewayLedger, monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv(constants.ENV_PAYMENTS_TABLE, "payments")
    monkeypatch.setenv(constants.ENV_REVIEW_TIMEOUT_SECONDS, "60")
    monkeypatch.setenv(constants.ENV_PAYMENT_REVIEW_THRESHOLD, raw)
    with pytest.raises(SettingError, match=constants.ENV_PAYMENT_REVIEW_THRESHOLD):
        collect_handler.settings()


def test_the_functions_gateway_needs_its_ledger_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(constants.ENV_PAYMENTS_TABLE, "payments")
    monkeypatch.setenv(constants.ENV_LEDGER_TABLE, "ledger")
    monkeypatch.delenv(constants.ENV_GATEWAY_LEDGER_TABLE, raising=False)
    with pytest.raises(SettingError, match=constants.ENV_GATEWAY_LEDGER_TABLE):
        refund_handler.settings()


def test_ids_are_deterministic_per_order() -> None:
    assert charge_id_for("ord-1") == charge_id_for("ord-1") != charge_id_for("ord-2")
    assert charge_id_for("ord-1").startswith("ch_")
    assert refund_id_for("ord-1").startswith("re_")


def test_the_idempotency_key_holds_across_containers(ledger: GatewayLedger) -> None:
    first = container(ledger).charge("ord-1", 100, "EUR", "tok_visa")
    # Another container, same key, even with another token and amount: the first result, no second charge.
    assert container(ledger).charge("ord-1", 5000, "EUR", "tok_decline") == first
    refund_id = container(ledger).refund("ord-1", first.charge_id, 100, "EUR")
    assert container(ledger).refund("ord-1", first.charge_id, 100, "EUR") == refund_id == refund_id_for("ord-1")
    container(ledger).charge("ord-2", 100, "EUR", "tok_review")
    container(ledger).void("ord-2", None)
    container(ledger).void("ord-2", charge_id_for("ord-2"))

    records = gateway_records(None, ledger)
    assert sorted(records) == ["ord-1", "ord-2"]
    assert [len(ledger.records(key)) for key in ("ord-1", "ord-2")] == [2, 2]
    one, two = records["ord-1"], records["ord-2"]
    assert (one.charge["status"], one.charge["amountCents"], one.refund["refundId"]) == (APPROVED, 100, refund_id)
    assert one.captured and one.given_back and one.void is None
    assert (two.charge["status"], two.void["released"], two.void["chargeId"]) == (REVIEW, True, charge_id_for("ord-2"))
    assert two.captured and two.given_back and two.refund is None
    # The public reader by order id (what the invariants call).
    assert gateway_records(["ord-1"], ledger) == {"ord-1": one}


def test_a_refund_without_a_charge_that_took_money_is_refused(ledger: GatewayLedger) -> None:
    gateway = container(ledger)
    with pytest.raises(GatewayRefusal, match="nothing was charged"):
        gateway.refund("ord-1", charge_id_for("ord-1"), 100, "EUR")
    gateway.charge("ord-2", 100, "EUR", "tok_decline")
    with pytest.raises(GatewayRefusal, match="its charge was DECLINED"):
        gateway.refund("ord-2", charge_id_for("ord-2"), 100, "EUR")
    gateway.charge("ord-3", 100, "EUR", "tok_visa")
    with pytest.raises(GatewayRefusal, match="refused: the charge under ord-3"):
        gateway.refund("ord-3", charge_id_for("ord-3"), 101, "EUR")
    assert ledger.records("ord-1") == [] and len(ledger.records("ord-2")) == 1 == len(ledger.records("ord-3"))


def test_a_captured_charge_cannot_be_voided_only_refunded(ledger: GatewayLedger) -> None:
    captured = container(ledger).charge("ord-1", 100, "EUR", "tok_visa")
    with pytest.raises(AlreadyCaptured) as refused:
        container(ledger).void("ord-1", None)
    assert refused.value.charge_id == captured.charge_id
    container(ledger).refund("ord-1", captured.charge_id, 100, "EUR")
    records = gateway_records(["ord-1"], ledger)["ord-1"]
    assert records.void is None and records.given_back


def test_a_refund_and_a_void_exclude_each_other(ledger: GatewayLedger) -> None:
    held = container(ledger).charge("ord-1", 100, "EUR", "tok_review")
    container(ledger).void("ord-1", held.charge_id)
    with pytest.raises(GatewayRefusal, match="the charge was voided"):
        container(ledger).refund("ord-1", held.charge_id, 100, "EUR")
    other = container(ledger).charge("ord-2", 100, "EUR", "tok_review")
    container(ledger).refund("ord-2", other.charge_id, 100, "EUR")
    with pytest.raises(GatewayRefusal, match="the charge was refunded"):
        container(ledger).void("ord-2", other.charge_id)
    assert {k: (r.refund is not None, r.void is not None) for k, r in gateway_records(None, ledger).items()} == {
        "ord-1": (False, True),
        "ord-2": (True, False),
    }


def test_a_void_with_nothing_charged_is_recorded_as_releasing_nothing(ledger: GatewayLedger) -> None:
    """What compensating a payment whose charge never reached the gateway leaves (CHARGING, then a crash)."""
    container(ledger).void("ord-1", None)
    records = gateway_records(["ord-1"], ledger)["ord-1"]
    assert records.charge is None and records.void["released"] is False
    assert not records.captured and not records.given_back


def test_concurrent_containers_charge_once(ledger: GatewayLedger) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def charge(token: Any) -> Any:
        return container(ledger).charge("ord-1", 100, "EUR", token)

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(charge, ["tok_visa", "tok_review", "tok_decline"] * 2))
    assert len(set(results)) == 1
    assert len(ledger.records("ord-1")) == 1
