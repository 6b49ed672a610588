"""CollectPayment: one charge per order, whatever Step Functions retries."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from infra import config
from lambdas.collect_payment import handler as collect_handler
from lambdas.shared import constants
from lambdas.shared.errors import InvalidOrder, PaymentDeclined
from lambdas.shared.payment_gateway import charge_id_for
from tests.unit.payment_support import ORDER_ID, CountingGateway, charge_event, install_gateway, invoke, payment


@pytest.fixture
def gateway(tables: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> CountingGateway:
    monkeypatch.delenv(constants.ENV_REVIEW_TIMEOUT_SECONDS, raising=False)
    return install_gateway(monkeypatch, collect_handler)


def collect(event: dict[str, Any]) -> dict[str, Any]:
    return invoke(collect_handler.handler, event)


def test_approved_charge_is_recorded_and_returned(gateway: CountingGateway, tables: dict[str, Any]) -> None:
    assert collect(charge_event()) == {
        "status": "APPROVED",
        "chargeId": charge_id_for(ORDER_ID),
        "reviewTimeoutSeconds": config.DEFAULT_REVIEW_TIMEOUT_SECONDS,
        "reviewTimeout": "72 h",
    }
    item = payment(tables)
    assert item["status"] == "APPROVED"
    assert (item["amountCents"], item["currency"], item["customerId"]) == (2974, "EUR", "cust-42")
    assert item["chargeId"] == charge_id_for(ORDER_ID)


def test_a_retry_returns_the_stored_outcome_without_charging_again(gateway: CountingGateway) -> None:
    first = collect(charge_event())
    assert collect(charge_event()) == first
    assert gateway.calls == [f"charge:{ORDER_ID}"]


def test_review_by_token_is_stored_pending_with_the_configured_timeout(
    gateway: CountingGateway, tables: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(constants.ENV_REVIEW_TIMEOUT_SECONDS, "600")
    result = collect(charge_event(token="tok_review"))
    assert result == {
        "status": "REVIEW",
        "chargeId": charge_id_for(ORDER_ID),
        "reviewTimeoutSeconds": 600,
        "reviewTimeout": "10 min",
    }
    assert payment(tables)["status"] == "REVIEW_PENDING"
    assert collect(charge_event(token="tok_review")) == result
    assert len(gateway.calls) == 1


def test_large_amounts_go_to_review(gateway: CountingGateway, tables: dict[str, Any]) -> None:
    assert collect(charge_event(amount_cents=250_000))["status"] == "REVIEW"
    assert payment(tables)["status"] == "REVIEW_PENDING"


def test_a_decline_is_stored_then_raised_under_its_step_functions_name(
    gateway: CountingGateway, tables: dict[str, Any]
) -> None:
    with pytest.raises(PaymentDeclined, match=r"29\.74 EUR for order ord-1001 was declined") as raised:
        collect(charge_event(token="tok_decline"))
    assert type(raised.value).__name__ == constants.ERROR_PAYMENT_DECLINED
    assert payment(tables)["status"] == "DECLINED"
    # A retry gives the same answer from the table; the card is not tried again.
    with pytest.raises(PaymentDeclined):
        collect(charge_event(token="tok_decline"))
    assert len(gateway.calls) == 1


def test_an_attempt_that_died_after_claiming_is_completed_once(
    gateway: CountingGateway, tables: dict[str, Any]
) -> None:
    # What a crash between the claim and the record leaves behind.
    tables[constants.ENV_PAYMENTS_TABLE].put_item(
        Item={"orderId": ORDER_ID, "status": "CHARGING", "amountCents": 2974, "currency": "EUR", "createdAt": "x"}
    )
    assert collect(charge_event())["status"] == "APPROVED"
    assert payment(tables)["status"] == "APPROVED"
    assert len(gateway.charges) == 1


def test_concurrent_duplicates_charge_once_and_agree(gateway: CountingGateway, tables: dict[str, Any]) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: collect(charge_event()), range(8)))
    assert all(result == results[0] for result in results)
    assert len(gateway.charges) == 1
    assert payment(tables)["status"] == "APPROVED"


def test_the_same_order_is_never_charged_a_different_amount(gateway: CountingGateway) -> None:
    collect(charge_event(amount_cents=2974))
    with pytest.raises(InvalidOrder, match=r"already has a payment of 29\.74 EUR, not 30\.00 EUR"):
        collect(charge_event(amount_cents=3000))
    assert len(gateway.calls) == 1


@pytest.mark.parametrize(
    ("stored", "expected"),
    [("REVIEW_APPROVED", "APPROVED"), ("REFUNDED", "already refunded"), ("VOIDED", "already voided")],
)
def test_later_states_answer_a_late_retry(
    gateway: CountingGateway, tables: dict[str, Any], stored: str, expected: str
) -> None:
    tables[constants.ENV_PAYMENTS_TABLE].put_item(
        Item={"orderId": ORDER_ID, "status": stored, "amountCents": 2974, "currency": "EUR", "chargeId": "ch_1"}
    )
    if stored == "REVIEW_APPROVED":
        assert collect(charge_event())["status"] == expected
    else:
        with pytest.raises(PaymentDeclined, match=expected):
            collect(charge_event())
    assert gateway.calls == []


def without(event: dict[str, Any], path: str) -> dict[str, Any]:
    *parents, name = path.split(".")
    target = event
    for parent in parents:
        target = target[parent]
    del target[name]
    return event


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (without(charge_event(), "orderId"), "orderId"),
        (without(charge_event(), "customerId"), "customerId"),
        (without(charge_event(), "payment.token"), "payment.token"),
        (without(charge_event(), "payment"), "payment"),
        ({**charge_event(), "amountCents": 0}, "amountCents"),
        ({**charge_event(), "amountCents": 29.74}, "amountCents"),
        ({**charge_event(), "amountCents": True}, "amountCents"),
        ({**charge_event(), "currency": "eur"}, "currency"),
        ({**charge_event(), "orderId": "ord 1"}, "orderId"),
        ({**charge_event(), "payment": "tok_visa"}, "payment"),
    ],
)
def test_invalid_input_names_the_field_and_charges_nothing(
    gateway: CountingGateway, tables: dict[str, Any], event: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidOrder, match=f"'{field}'"):
        collect(event)
    assert gateway.calls == []
    assert tables[constants.ENV_PAYMENTS_TABLE].scan()["Items"] == []


def test_a_bad_review_timeout_setting_is_named(gateway: CountingGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(constants.ENV_REVIEW_TIMEOUT_SECONDS, "soon")
    with pytest.raises(RuntimeError, match=constants.ENV_REVIEW_TIMEOUT_SECONDS):
        collect(charge_event())
