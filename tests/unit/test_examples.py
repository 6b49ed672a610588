"""The console-ready examples in examples/orders/ take the path their file name promises."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra import config, defaults
from lambdas.shared import constants
from lambdas.shared.errors import InvalidOrder, PriceMismatch
from lambdas.shared.order import parse_order, to_cents
from lambdas.shared.payment_gateway import APPROVED, DECLINED, REVIEW, InMemoryGatewayRecords, SimulatedPaymentGateway
from lambdas.shared.pricing import Pricing, quote, verify_displayed_total
from lambdas.shared.stock import CatalogItem

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PRODUCTS = json.loads((EXAMPLES / "catalog.json").read_text())["products"]
CATALOG = {p["sku"]: CatalogItem(p["sku"], p["name"], p["priceCents"], p["leadTimeDays"]) for p in PRODUCTS}
PRICING = Pricing.from_config(constants.DEFAULT_PRICING)


def load(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / "orders" / f"{name}.json").read_text())


def priced(order: dict[str, Any]) -> dict[str, Any]:
    parsed = parse_order(order, PRICING.currency)
    return quote(parsed["items"], parsed["shippingAddress"]["country"], CATALOG, PRICING)


def test_every_example_is_listed_here() -> None:
    names = {p.stem for p in (EXAMPLES / "orders").glob("*.json")}
    assert names == {"happy", "review", "declined", "out_of_stock", "price_mismatch", "invalid"}


@pytest.mark.parametrize(
    ("name", "outcome"), [("happy", APPROVED), ("review", REVIEW), ("declined", DECLINED), ("out_of_stock", None)]
)
def test_priced_examples_show_the_right_total_and_meet_their_gateway_rule(name: str, outcome: str | None) -> None:
    order = load(name)
    quoted = priced(order)
    verify_displayed_total(quoted, to_cents(order["displayedTotal"]))  # raises on a stale example
    if outcome is not None:
        gateway = SimulatedPaymentGateway(InMemoryGatewayRecords(), defaults.DEFAULT_PAYMENT_REVIEW_THRESHOLD_CENTS)
        charge = gateway.charge(order["orderId"], quoted["totalCents"], quoted["currency"], order["payment"]["token"])
        assert charge.status == outcome


def test_out_of_stock_example_asks_for_more_than_any_serving_warehouse_has() -> None:
    order = load("out_of_stock")
    (line,) = order["items"]
    product = next(p for p in PRODUCTS if p["sku"] == line["sku"])
    serving = [w["id"] for w in config.DEFAULT_WAREHOUSES if order["shippingAddress"]["country"] in w["countries"]]
    assert all(product["stock"].get(w, 0) < line["quantity"] for w in serving)


def test_price_mismatch_example_differs_from_the_quote() -> None:
    order = load("price_mismatch")
    with pytest.raises(PriceMismatch):
        verify_displayed_total(priced(order), to_cents(order["displayedTotal"]))


def test_invalid_example_names_the_bad_field() -> None:
    with pytest.raises(InvalidOrder, match=r"items\[0\]\.quantity"):
        parse_order(load("invalid"), PRICING.currency)
