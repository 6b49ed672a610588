"""Marketplace and store orders: the connectors' translation, the channel rules ValidateOrder applies, pricing
within a channel's rules, a payment the marketplace collected (nothing charged, nothing refunded), the intake."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from lambdas.collect_payment import handler as collect_handler
from lambdas.marketplaces import registry
from lambdas.marketplaces.city_store.logic import STORE_ADDRESS
from lambdas.marketplaces.city_store.logic import translate as translate_receipt
from lambdas.marketplaces.connector import InvalidMarketplaceOrder, cents
from lambdas.marketplaces.ebuy.logic import translate as translate_webhook
from lambdas.price_order.logic import price
from lambdas.refund_payment import handler as refund_handler
from lambdas.shared import constants
from lambdas.shared.adapters.executions import start_once
from lambdas.shared.errors import InvalidOrder, PriceMismatch
from lambdas.shared.pricing import Pricing, discounted
from lambdas.shared.stock import CatalogItem
from lambdas.subscribers.marketplace_intake import logic as intake
from lambdas.validate_order.logic import validate, validate_task
from tests.contract import samples
from tests.unit.payment_support import CountingGateway, install_gateway, invoke, payment

EBUY_WEBHOOK: dict[str, Any] = {
    "orderNumber": "EB-1001",
    "buyer": {"userId": "u77", "email": "ada@example.com"},
    "lines": [{"sellerSku": "MUG-BLUE", "qty": 2}],
    "shipTo": {
        "fullName": "Ada Lovelace",
        "street": "1 Main St",
        "city": "Berlin",
        "zip": "10115",
        "countryCode": "DE",
    },
    "grandTotal": "27.41",
    "currency": "EUR",
    "paymentId": "EBPAY-77",
}
RECEIPT: dict[str, Any] = {
    "receiptNo": "R-1001",
    "till": "T2",
    "customer": {"loyaltyId": "L-5", "email": "grace@example.com"},
    "lines": [{"sku": "MUG-BLUE", "qty": 1}],
    "paidCents": 1192,
    "currency": "EUR",
    "cardTerminalRef": "CT-9",
    "deliverTo": None,
}
CATALOG = {"MUG-BLUE": CatalogItem("MUG-BLUE", "Mug", 1002, 14)}
PRICING = Pricing.from_config(constants.DEFAULT_PRICING)


def lookup(skus: Any) -> dict[str, CatalogItem]:
    return {sku: CATALOG[sku] for sku in skus if sku in CATALOG}


def event_for(data: dict[str, Any], source: str | None = None) -> dict[str, Any]:
    event = samples.marketplace_order_received(data["marketplace"], data["marketplaceOrderId"])
    event["detail"]["data"] = data
    if source:
        event["source"] = source
    return event


def channel_order(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(intake.parse(event_for(data)).execution_input)


# -- the registry --------------------------------------------------------------------------------------
def test_the_registry_is_valid_and_names_a_source_and_channel_per_connector() -> None:
    registry.validate()
    ebuy = registry.by_name("ebuy")
    assert ebuy is not None
    assert ebuy.source == "com.example.marketplace.ebuy" and ebuy.channel == "marketplace:ebuy"
    assert registry.by_source(ebuy.source) is ebuy and registry.by_channel("marketplace:ebuy") is ebuy
    assert registry.by_source("com.example.orders") is None
    assert ebuy.order_id("EB-1") == "ebuy-EB-1"


@pytest.mark.parametrize(
    "connectors",
    [
        (registry.Connector("a", "store", "x"), registry.Connector("a", "store", "y")),
        (registry.Connector("Bad-Name", "store", "x"),),
        (registry.Connector("a", "store", "x", rules=registry.PricingRules(discount_basis_points=10_000)),),
    ],
)
def test_a_registry_mistake_is_refused(connectors: tuple[registry.Connector, ...]) -> None:
    with pytest.raises(ValueError):
        registry.validate(connectors)


# -- the connectors ------------------------------------------------------------------------------------
def test_ebuy_translates_its_webhook() -> None:
    data = translate_webhook(EBUY_WEBHOOK)
    assert data["marketplaceOrderId"] == "EB-1001" and data["customer"] == {
        "id": "ebuy:u77",
        "email": "ada@example.com",
    }
    assert data["items"] == [{"sku": "MUG-BLUE", "quantity": 2}]
    assert data["shippingAddress"]["country"] == "DE" and data["fulfilment"] == "shipped"
    assert (data["totalCents"], data["paymentReference"]) == (2741, "EBPAY-77")


def test_a_store_receipt_without_delivery_is_handed_over_at_the_store() -> None:
    data = translate_receipt(RECEIPT)
    assert data["fulfilment"] == "handed-over" and data["shippingAddress"] == STORE_ADDRESS
    shipped = translate_receipt({**RECEIPT, "deliverTo": dict(samples.COMPLETED_STATE["order"]["shippingAddress"])})
    assert shipped["fulfilment"] == "shipped" and shipped["shippingAddress"]["city"] == "Berlin"


@pytest.mark.parametrize("amount", ["12.345", "abc", "-1", 0])
def test_an_amount_the_marketplace_got_wrong_is_refused(amount: Any) -> None:
    with pytest.raises(InvalidMarketplaceOrder):
        cents(amount, "grandTotal")


def test_a_webhook_missing_a_field_names_it() -> None:
    with pytest.raises(InvalidMarketplaceOrder, match=r"^shipTo\.zip: is required$"):
        translate_webhook({**EBUY_WEBHOOK, "shipTo": {**EBUY_WEBHOOK["shipTo"], "zip": ""}})


# -- the intake -----------------------------------------------------------------------------------------
def test_the_intake_builds_a_prepaid_channel_order_named_after_the_marketplace_and_its_id() -> None:
    order = channel_order(translate_webhook(EBUY_WEBHOOK))
    assert order["orderId"] == "ebuy-EB-1001"
    assert order["payment"] == {"method": "prepaid", "token": "EBPAY-77"}
    assert (order["channel"], order["fulfilment"], order["displayedTotal"]) == ("marketplace:ebuy", "shipped", 27.41)


def test_a_redelivery_gives_the_same_execution_input() -> None:
    data = translate_webhook(EBUY_WEBHOOK)
    reordered = dict(reversed(list(copy.deepcopy(data).items())))
    assert intake.parse(event_for(data)).execution_input == intake.parse(event_for(reordered)).execution_input
    assert intake.same_input(
        intake.parse(event_for(data)).execution_input, intake.parse(event_for(data)).execution_input
    )


def test_a_connector_takes_orders_for_itself_only() -> None:
    data = translate_webhook(EBUY_WEBHOOK)
    with pytest.raises(intake.InvalidEvent, match="publishes its own orders only"):
        intake.parse(event_for(data, source="com.example.marketplace.city_store"))
    with pytest.raises(intake.InvalidEvent, match="not a registered marketplace connector"):
        intake.parse(event_for({**data, "marketplace": "shady"}, source="com.example.marketplace.shady"))


def test_start_once_answers_none_for_a_taken_order_id() -> None:
    class AlreadyExists(Exception):
        pass

    class Client:
        class exceptions:
            ExecutionAlreadyExists = AlreadyExists

        def __init__(self) -> None:
            self.started: set[str] = set()

        def start_execution(self, stateMachineArn: str, name: str, input: str) -> dict[str, str]:
            if name in self.started:
                raise AlreadyExists(name)
            self.started.add(name)
            return {"executionArn": f"arn:execution:{name}"}

    sfn = Client()
    assert start_once(sfn, "arn:sm", "ebuy-EB-1", "{}") == {"executionArn": "arn:execution:ebuy-EB-1"}
    assert start_once(sfn, "arn:sm", "ebuy-EB-1", "{}") is None


# -- ValidateOrder: channel rules ------------------------------------------------------------------------
def test_a_channel_order_validates_in_the_workflow() -> None:
    order = channel_order(translate_webhook(EBUY_WEBHOOK))
    valid = validate_task({"order": order, "executionName": "ebuy-EB-1001"}, "EUR", lookup)
    assert (valid["channel"], valid["fulfilment"], valid["displayedTotalCents"]) == (
        "marketplace:ebuy",
        "shipped",
        2741,
    )


def test_the_order_api_refuses_channel_fields_and_prepaid_web_orders() -> None:
    order = channel_order(translate_webhook(EBUY_WEBHOOK))
    with pytest.raises(InvalidOrder, match=r"^channel: unknown field$"):
        validate(order, "EUR", lookup)
    web = {k: v for k, v in order.items() if k not in ("channel", "fulfilment")}
    with pytest.raises(InvalidOrder, match=r"^payment\.method: a web order is paid through the gateway"):
        validate(web, "EUR", lookup)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"channel": "marketplace:shady"}, r"^channel: unknown channel"),
        ({"payment": {"method": "card", "token": "tok_visa"}}, r"must be prepaid"),
        ({"orderId": "city_store-EB-1001"}, r"^orderId: an order from marketplace:ebuy is named ebuy-"),
        ({"fulfilment": "handed-over"}, r"^fulfilment: only a store hands goods over"),
        ({"channel": "web", "fulfilment": "handed-over", "payment": {"method": "card", "token": "t"}}, "shipped"),
    ],
)
def test_channel_rules(change: dict[str, Any], message: str) -> None:
    order = {**channel_order(translate_webhook(EBUY_WEBHOOK)), **change}
    with pytest.raises(InvalidOrder, match=message):
        validate_task({"order": order, "executionName": order["orderId"]}, "EUR", lookup)


def test_a_store_order_may_be_handed_over() -> None:
    order = channel_order(translate_receipt(RECEIPT))
    valid = validate_task({"order": order, "executionName": "city_store-R-1001"}, "EUR", lookup)
    assert (valid["channel"], valid["fulfilment"]) == ("store:city_store", "handed-over")


# -- PriceOrder: the channel's own rules -------------------------------------------------------------------
def test_discount_is_rounded_half_up_per_unit() -> None:
    assert discounted(1002, 500) == 952  # 1002 - 50.1 -> 951.9 -> 952
    assert discounted(1000, 0) == 1000


def test_a_marketplace_total_is_checked_within_its_discount_and_shipping() -> None:
    order = validate_task(
        {"order": channel_order(translate_webhook(EBUY_WEBHOOK)), "executionName": "ebuy-EB-1001"}, "EUR", lookup
    )
    priced = price(order, CATALOG, PRICING)
    # 2 x 9.52 (5 % off 10.02) + 3.99 eBuy shipping, 19 % German tax on both.
    assert (priced["subtotalCents"], priced["shippingCents"], priced["taxCents"]) == (1904, 399, 438)
    assert priced["totalCents"] == 2741


def test_a_marketplace_total_outside_its_rules_is_a_price_mismatch() -> None:
    webhook = {**EBUY_WEBHOOK, "grandTotal": "27.13"}  # a discount eBuy's rules do not give
    order = validate_task(
        {"order": channel_order(translate_webhook(webhook)), "executionName": "ebuy-EB-1001"}, "EUR", lookup
    )
    with pytest.raises(PriceMismatch, match=r"was shown 27\.13 EUR but the order totals 27\.41 EUR"):
        price(order, CATALOG, PRICING)


def test_a_store_sale_has_no_shipping() -> None:
    order = validate_task(
        {"order": channel_order(translate_receipt(RECEIPT)), "executionName": "city_store-R-1001"}, "EUR", lookup
    )
    priced = price(order, CATALOG, PRICING)
    assert (priced["shippingCents"], priced["totalCents"]) == (0, 1192)  # 10.02 + 19 %


# -- CollectPayment / RefundPayment: collected by the marketplace -------------------------------------
@pytest.fixture
def gateway(tables: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> CountingGateway:
    monkeypatch.delenv(constants.ENV_REVIEW_TIMEOUT_SECONDS, raising=False)
    return install_gateway(monkeypatch, collect_handler, refund_handler)


def prepaid_event(order_id: str = "ebuy-EB-1001") -> dict[str, Any]:
    return {
        "orderId": order_id,
        "customerId": "ebuy:u77",
        "amountCents": 2741,
        "currency": "EUR",
        "payment": {"method": "prepaid", "token": "EBPAY-77"},
    }


def test_a_prepaid_payment_is_recorded_without_calling_the_gateway(
    gateway: CountingGateway, tables: dict[str, Any]
) -> None:
    result = invoke(collect_handler.handler, prepaid_event())
    assert (result["status"], result["chargeId"]) == ("PREPAID", "prepaid:EBPAY-77")
    assert invoke(collect_handler.handler, prepaid_event()) == result  # a retry: same answer
    assert gateway.calls == []
    item = payment(tables, "ebuy-EB-1001")
    assert item is not None and (item["status"], item["amountCents"]) == ("PREPAID", 2741)


def test_compensation_never_refunds_what_we_did_not_charge(gateway: CountingGateway, tables: dict[str, Any]) -> None:
    invoke(collect_handler.handler, prepaid_event())
    assert invoke(refund_handler.handler, {"orderId": "ebuy-EB-1001"}) == {"refunded": False, "status": "PREPAID"}
    assert gateway.calls == []
    item = payment(tables, "ebuy-EB-1001")
    assert item is not None and item["status"] == "PREPAID"
