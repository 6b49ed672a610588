"""Helpers for the payment tests: a Lambda context, a call-counting gateway, events and fixtures' data."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from infra import config, defaults
from lambdas.shared import constants
from lambdas.shared.adapters.payments import GatewayLedger
from lambdas.shared.payment_gateway import (
    ChargeResult,
    GatewayRecords,
    OrderGatewayRecords,
    SimulatedPaymentGateway,
    gateway_records,
)
from tests.conftest import create_table, lambda_context

ORDER_ID = "ord-1001"
GATEWAY_LEDGER_TABLE = "test-gateway-ledger"


def invoke(handler: Any, event: dict[str, Any]) -> Any:
    return handler(event, lambda_context())


def gateway_ledger(monkeypatch: pytest.MonkeyPatch) -> GatewayLedger:
    """The gateway's own table in the (moto) account, named in the environment as the stack names it."""
    dynamodb = boto3.resource("dynamodb")
    if GATEWAY_LEDGER_TABLE not in {t.name for t in dynamodb.tables.all()}:
        create_table(GATEWAY_LEDGER_TABLE, constants.GATEWAY_LEDGER_TABLE_KEYS)
    monkeypatch.setenv(constants.ENV_GATEWAY_LEDGER_TABLE, GATEWAY_LEDGER_TABLE)
    return GatewayLedger(dynamodb.Table(GATEWAY_LEDGER_TABLE))


class CountingGateway(SimulatedPaymentGateway):
    """The simulated gateway, counting every call (including repeats its idempotency absorbs).

    ``charges``, ``refunds`` and ``voids`` are what the gateway's durable ledger holds (every container's)."""

    def __init__(self, records: GatewayRecords, review_threshold_cents: int) -> None:
        super().__init__(records, review_threshold_cents)
        self.calls: list[str] = []

    @property
    def ledger(self) -> dict[str, OrderGatewayRecords]:
        assert isinstance(self.records, GatewayLedger)
        return gateway_records(None, self.records)

    @property
    def charges(self) -> list[tuple[str, ChargeResult]]:
        return [
            (key, ChargeResult(r.charge["status"], r.charge["chargeId"], r.charge.get("reason", "")))
            for key, r in self.ledger.items()
            if r.charge
        ]

    @property
    def refunds(self) -> list[tuple[str, str, int]]:
        return [(k, r.refund["chargeId"], r.refund["amountCents"]) for k, r in self.ledger.items() if r.refund]

    @property
    def voids(self) -> list[tuple[str, str | None]]:
        return [(k, r.void.get("chargeId")) for k, r in self.ledger.items() if r.void]

    def charge(self, idempotency_key: str, amount_cents: int, currency: str, token: str) -> ChargeResult:
        self.calls.append(f"charge:{idempotency_key}")
        return super().charge(idempotency_key, amount_cents, currency, token)

    def refund(self, idempotency_key: str, charge_id: str, amount_cents: int, currency: str) -> str:
        self.calls.append(f"refund:{idempotency_key}")
        return super().refund(idempotency_key, charge_id, amount_cents, currency)

    def void(self, idempotency_key: str, charge_id: str | None) -> None:
        self.calls.append(f"void:{idempotency_key}")
        super().void(idempotency_key, charge_id)


def install_gateway(monkeypatch: pytest.MonkeyPatch, *handler_modules: Any) -> CountingGateway:
    """Make the given handler modules use one CountingGateway (as if it were the real gateway), with the
    stack's payment settings in the environment."""
    monkeypatch.setenv(constants.ENV_PAYMENT_REVIEW_THRESHOLD, str(defaults.DEFAULT_PAYMENT_REVIEW_THRESHOLD_CENTS))
    monkeypatch.setenv(constants.ENV_REVIEW_TIMEOUT_SECONDS, str(config.DEFAULT_REVIEW_TIMEOUT_SECONDS))
    gateway = CountingGateway(gateway_ledger(monkeypatch), defaults.DEFAULT_PAYMENT_REVIEW_THRESHOLD_CENTS)
    for module in handler_modules:
        monkeypatch.setattr(module, "default_gateway", lambda *_: gateway)
    return gateway


def charge_event(order_id: str = ORDER_ID, amount_cents: int = 2974, token: str = "tok_visa") -> dict[str, Any]:
    """CollectPayment's input, as the ASL builds it."""
    return {
        "orderId": order_id,
        "customerId": "cust-42",
        "amountCents": amount_cents,
        "currency": "EUR",
        "payment": {"method": "card", "token": token},
    }


# PriceOrder's output for 2 x 12.50 EUR shipped to Germany (19 % tax, flat shipping).
PRICING: dict[str, Any] = {
    "lines": [{"sku": "MUG-BLUE", "quantity": 2, "unitPriceCents": 1250, "lineTotalCents": 2500}],
    "subtotalCents": 2500,
    "taxCents": 475,
    "shippingCents": 495,
    "totalCents": 3470,
    "currency": "EUR",
}


def accounting_event(**pricing: Any) -> dict[str, Any]:
    """RecordAccounting's input, as the ASL builds it; keyword arguments override pricing fields."""
    return {"orderId": ORDER_ID, "pricing": {**PRICING, **pricing}, "chargeId": "ch_1"}


def payment(tables: dict[str, Any], order_id: str = ORDER_ID) -> dict[str, Any] | None:
    return tables[constants.ENV_PAYMENTS_TABLE].get_item(Key={"orderId": order_id}, ConsistentRead=True).get("Item")


def capture_bus(monkeypatch: pytest.MonkeyPatch, bus_name: str = "test-orders") -> str:
    """A custom bus named in the environment, with a rule that copies every event of ours to a queue."""
    monkeypatch.setenv(constants.ENV_EVENT_BUS, bus_name)
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name=bus_name)
    queue_url = sqs.create_queue(QueueName=f"{bus_name}-capture")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="capture", EventBusName=bus_name, EventPattern=json.dumps({"source": [constants.EVENT_SOURCE]})
    )
    events.put_targets(Rule="capture", EventBusName=bus_name, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return queue_url


def captured(queue_url: str) -> list[dict[str, Any]]:
    """Every event delivered to the capture queue so far (consumed)."""
    sqs = boto3.client("sqs")
    found: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found
