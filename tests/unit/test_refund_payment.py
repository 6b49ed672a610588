"""RefundPayment (compensation): money goes back exactly once, whatever state the payment reached."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from lambdas.collect_payment import handler as collect_handler
from lambdas.record_accounting import handler as accounting_handler
from lambdas.refund_payment import handler as refund_handler
from lambdas.shared import constants, ledger
from lambdas.shared.adapters.payments import PaymentsTable
from lambdas.shared.errors import InvalidOrder
from lambdas.shared.ledger import Entry
from lambdas.shared.payment_gateway import charge_id_for, refund_id_for
from tests.unit.payment_support import (
    ORDER_ID,
    CountingGateway,
    accounting_event,
    charge_event,
    install_gateway,
    invoke,
    payment,
)


@pytest.fixture
def gateway(tables: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> CountingGateway:
    return install_gateway(monkeypatch, collect_handler, refund_handler)


def refund() -> dict[str, Any]:
    return invoke(refund_handler.handler, {"orderId": ORDER_ID})


def store(tables: dict[str, Any], status: str, **extra: Any) -> None:
    item = {"orderId": ORDER_ID, "status": status, "amountCents": 2974, "currency": "EUR", **extra}
    tables[constants.ENV_PAYMENTS_TABLE].put_item(Item=item)


def transactions(tables: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["sk"]: item for item in tables[constants.ENV_LEDGER_TABLE].scan()["Items"]}


def test_an_approved_payment_is_refunded_once(gateway: CountingGateway, tables: dict[str, Any]) -> None:
    invoke(collect_handler.handler, charge_event())

    assert refund() == {"refunded": True, "status": "REFUNDED"}
    item = payment(tables)
    assert (item["status"], item["refundId"]) == ("REFUNDED", refund_id_for(ORDER_ID))
    assert gateway.refunds == [(ORDER_ID, charge_id_for(ORDER_ID), 2974)]
    # Compensation is retried freely: the same answer, no second refund call.
    assert refund() == {"refunded": True, "status": "REFUNDED"}
    assert gateway.calls.count(f"refund:{ORDER_ID}") == 1
    assert transactions(tables) == {}  # nothing was booked, so nothing is reversed


def test_a_booked_sale_is_reversed_once(gateway: CountingGateway, tables: dict[str, Any]) -> None:
    invoke(collect_handler.handler, charge_event(amount_cents=3470))
    sale_id = invoke(accounting_handler.handler, accounting_event())["transactionId"]

    refund()
    refund()

    booked = transactions(tables)
    assert set(booked) == {"TXN#SALE", "TXN#REFUND"}
    reversal = booked["TXN#REFUND"]
    assert reversal["transactionId"] == ledger.transaction_id(ORDER_ID, ledger.REFUND)
    assert reversal["reverses"] == sale_id
    assert reversal["refundId"] == refund_id_for(ORDER_ID)
    sale_entries = [Entry.from_item(e) for e in booked["TXN#SALE"]["entries"]]
    assert [Entry.from_item(e) for e in reversal["entries"]] == ledger.reversal_entries(sale_entries)


def review_decided(tables: dict[str, Any], status: str, **extra: Any) -> None:
    """A charge the gateway held for review, then a reviewer's decision recorded on the payment."""
    invoke(collect_handler.handler, charge_event(token="tok_review"))
    tables[constants.ENV_PAYMENTS_TABLE].update_item(
        Key={"orderId": ORDER_ID},
        UpdateExpression="SET #s = :s, reviewer = :r, " + ", ".join(f"{k} = :{k}" for k in extra),
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": status, ":r": "grace", **{f":{k}": v for k, v in extra.items()}},
    )


def test_a_delivered_review_approval_is_refunded(gateway: CountingGateway, tables: dict[str, Any]) -> None:
    review_decided(tables, "REVIEW_APPROVED", callbackDelivered=True)
    assert refund() == {"refunded": True, "status": "REFUNDED"}
    assert gateway.refunds == [(ORDER_ID, charge_id_for(ORDER_ID), 2974)]
    assert gateway.voids == []


def test_an_approval_that_never_reached_the_order_is_voided(gateway: CountingGateway, tables: dict[str, Any]) -> None:
    """Recorded, not delivered (the review timed out or the order ended first): nothing was settled."""
    review_decided(tables, "REVIEW_APPROVED", callbackDelivered=False, taskToken="token-1")
    assert refund() == {"refunded": False, "status": "VOIDED"}
    item = payment(tables)
    assert (item["status"], item["voidedFrom"], item["reviewer"]) == ("VOIDED", "REVIEW_APPROVED", "grace")
    assert "taskToken" not in item
    assert gateway.voids == [(ORDER_ID, charge_id_for(ORDER_ID))]
    assert gateway.ledger[ORDER_ID].given_back and gateway.refunds == []


def test_a_charge_the_gateway_captured_before_collect_died_is_refunded(
    gateway: CountingGateway, tables: dict[str, Any]
) -> None:
    """CHARGING, but the gateway took the money (the record was never written): its void is refused."""
    store(tables, "CHARGING")
    gateway.charge(ORDER_ID, 2974, "EUR", "tok_visa")

    assert refund() == {"refunded": True, "status": "REFUNDED"}
    item = payment(tables)
    assert (item["status"], item["chargeId"]) == ("REFUNDED", charge_id_for(ORDER_ID))
    assert gateway.refunds == [(ORDER_ID, charge_id_for(ORDER_ID), 2974)]
    assert gateway.voids == []
    assert refund() == {"refunded": True, "status": "REFUNDED"}
    assert len(gateway.refunds) == 1


@pytest.mark.parametrize(
    ("status", "extra"),
    [
        ("REVIEW_PENDING", {"chargeId": "ch_1", "taskToken": "token-1"}),  # timed out or never decided
        ("REVIEW_REJECTED", {"chargeId": "ch_1", "reviewer": "ada"}),
        ("CHARGING", {}),  # the charge's outcome was never recorded
    ],
)
def test_an_unsettled_payment_is_voided(
    gateway: CountingGateway, tables: dict[str, Any], status: str, extra: dict[str, Any]
) -> None:
    store(tables, status, **extra)

    assert refund() == {"refunded": False, "status": "VOIDED"}
    item = payment(tables)
    assert (item["status"], item["voidedFrom"]) == ("VOIDED", status)
    assert "taskToken" not in item  # a reviewer can no longer resume this order
    assert gateway.voids == [(ORDER_ID, extra.get("chargeId"))]
    assert gateway.refunds == []
    assert refund() == {"refunded": False, "status": "VOIDED"}
    assert len(gateway.calls) == 1


@pytest.mark.parametrize(("status", "expected"), [(None, "NO_PAYMENT"), ("DECLINED", "DECLINED")])
def test_nothing_charged_means_nothing_to_do(
    gateway: CountingGateway, tables: dict[str, Any], status: str | None, expected: str
) -> None:
    if status:
        store(tables, status)
    before = payment(tables)
    assert refund() == {"refunded": False, "status": expected}
    assert gateway.calls == []
    assert payment(tables) == before


def test_concurrent_compensations_refund_and_reverse_once(gateway: CountingGateway, tables: dict[str, Any]) -> None:
    invoke(collect_handler.handler, charge_event(amount_cents=3470))
    invoke(accounting_handler.handler, accounting_event())

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: refund(), range(8)))

    assert results == [{"refunded": True, "status": "REFUNDED"}] * 8
    assert len(gateway.refunds) == 1
    assert sorted(transactions(tables)) == ["TXN#REFUND", "TXN#SALE"]


def test_a_crash_before_the_status_is_written_is_completed_by_the_retry(
    gateway: CountingGateway, tables: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke(collect_handler.handler, charge_event(amount_cents=3470))
    invoke(accounting_handler.handler, accounting_event())
    real_update = PaymentsTable.update

    def crash(*args: Any, **kwargs: Any) -> bool:
        raise TimeoutError("Lambda timed out")

    monkeypatch.setattr(PaymentsTable, "update", crash)
    with pytest.raises(TimeoutError):
        refund()
    assert payment(tables)["status"] == "APPROVED"
    assert "TXN#REFUND" in transactions(tables)  # the reversal comes first, so it cannot be forgotten

    monkeypatch.setattr(PaymentsTable, "update", real_update)
    assert refund() == {"refunded": True, "status": "REFUNDED"}
    assert len(gateway.refunds) == 1
    assert sorted(transactions(tables)) == ["TXN#REFUND", "TXN#SALE"]


def test_input_needs_an_order_id(gateway: CountingGateway) -> None:
    with pytest.raises(InvalidOrder, match="'orderId' is required"):
        invoke(refund_handler.handler, {})
