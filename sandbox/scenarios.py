"""A realistic batch of orders that walks every path of the workflow (used by the demo and the tests).

Totals are what the storefront would show: priced from the example catalog with the pricing the
stack deploys (the functions' PRICING_JSON), not typed in. Payment outcomes come from the simulated
gateway's rules (lambdas/shared/payment_gateway.py): a ``tok_decline*`` token is declined, a
``tok_review*`` token or an amount at or over the review threshold goes to a person.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import defaults
from lambdas.shared import constants
from lambdas.shared.pricing import Pricing, quote
from lambdas.shared.stock import CatalogItem

CATALOG_PATH = Path(__file__).resolve().parent.parent / "examples" / "catalog.json"

# Paths, in the order the demo lists them.
HAPPY = "happy"
REVIEW_APPROVED = "review approved"
REVIEW_REJECTED = "review rejected"
REVIEW_TIMED_OUT = "review timed out"
DECLINED = "declined"
OUT_OF_STOCK = "out of stock"
PRICE_MISMATCH = "price mismatch"
INVALID = "invalid input"
RACE = "race for last units"

# What each path must end in: (status, error). A race order may win or lose.
EXPECTED: dict[str, set[tuple[str, str | None]]] = {
    HAPPY: {("SUCCEEDED", None)},
    REVIEW_APPROVED: {("SUCCEEDED", None)},
    REVIEW_REJECTED: {("FAILED", constants.ERROR_REVIEW_REJECTED)},
    REVIEW_TIMED_OUT: {("FAILED", constants.ERROR_REVIEW_TIMED_OUT)},
    DECLINED: {("FAILED", constants.ERROR_PAYMENT_DECLINED)},
    OUT_OF_STOCK: {("FAILED", constants.ERROR_OUT_OF_STOCK)},
    PRICE_MISMATCH: {("FAILED", constants.ERROR_PRICE_MISMATCH)},
    INVALID: {("FAILED", constants.ERROR_INVALID)},
    RACE: {("SUCCEEDED", None), ("FAILED", constants.ERROR_OUT_OF_STOCK)},
}

ADDRESSES = {
    "DE": {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Berlin", "postalCode": "10115", "country": "DE"},
    "FR": {"name": "Marie Curie", "line1": "11 Rue Pierre", "city": "Paris", "postalCode": "75005", "country": "FR"},
    "GB": {
        "name": "Alan Turing",
        "line1": "2 Bletchley Rd",
        "city": "Milton Keynes",
        "postalCode": "MK3 6EB",
        "country": "GB",
    },
    "US": {"name": "Grace Hopper", "line1": "3 Navy Way", "city": "Arlington", "postalCode": "22202", "country": "US"},
}


@dataclass(frozen=True)
class Scenario:
    path: str
    order: dict[str, Any]
    reviewer_decision: str | None = None  # "approve" / "reject": a reviewer acts; None: nobody does

    @property
    def order_id(self) -> str:
        return str(self.order["orderId"])


class Storefront:
    """Builds orders the way the shop does: catalog prices, the stack's pricing, the shown total."""

    def __init__(self, catalog: Mapping[str, Any], pricing: Pricing) -> None:
        self.catalog = {
            p["sku"]: CatalogItem(
                p["sku"],
                p["name"],
                int(p["priceCents"]),
                int(p["leadTimeDays"]),
                p.get("active", True),
                int(p.get("weightGrams", 0)),
            )
            for p in catalog["products"]
        }
        self.pricing = pricing
        self._serial = 0

    def total(self, items: list[dict[str, Any]], country: str) -> float:
        cents = quote(items, country, self.catalog, self.pricing)["totalCents"]
        return cents / 100

    def order(
        self,
        prefix: str,
        items: list[tuple[str, int]],
        country: str = "DE",
        token: str = "tok_visa",
        variant: str | None = "control",
        displayed_total: float | None = None,
        customer: str = "cust",
    ) -> dict[str, Any]:
        self._serial += 1
        lines = [{"sku": sku, "quantity": quantity} for sku, quantity in items]
        order: dict[str, Any] = {
            "orderId": f"{prefix}-{self._serial:03d}",
            "customer": {"id": f"{customer}-{self._serial:03d}", "email": f"{customer}{self._serial}@example.com"},
            "items": lines,
            "shippingAddress": dict(ADDRESSES[country]),
            "currency": self.pricing.currency,
            "displayedTotal": self.total(lines, country) if displayed_total is None else displayed_total,
            "payment": {"method": "card", "token": token},
        }
        if variant:
            order["siteVariant"] = variant
        return order


def load_catalog(path: Path = CATALOG_PATH) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def scarce_sku(catalog: Mapping[str, Any], warehouse: str = "WH-EU-1") -> tuple[str, int]:
    """The product with the fewest units in `warehouse` (the one orders race for) and that level."""
    stocked = [(p["stock"][warehouse], p["sku"]) for p in catalog["products"] if p.get("stock", {}).get(warehouse)]
    level, sku = min(stocked)
    return sku, level


def batch(storefront: Storefront, catalog: Mapping[str, Any], racers_per_unit: float = 2.0) -> list[Scenario]:
    """The demo's orders: every path at least once, and more racers than units of the scarcest SKU."""
    shop = storefront
    mug, tee, bottle, notebook, headphones = (
        "MUG-BLUE",
        "TEE-ORGANIC-M",
        "BOTTLE-STEEL-750",
        "NOTEBOOK-A5-DOT",
        "HEADPHONES-BT",
    )
    scarce, level = scarce_sku(catalog)
    threshold_units = -(-defaults.DEFAULT_PAYMENT_REVIEW_THRESHOLD_CENTS // shop.catalog[headphones].price_cents)
    scenarios = [
        Scenario(HAPPY, shop.order("ord", [(mug, 2)], "DE", variant="checkout-v2")),
        Scenario(HAPPY, shop.order("ord", [(tee, 1), (notebook, 3)], "FR", variant="control")),
        Scenario(HAPPY, shop.order("ord", [(bottle, 2)], "GB", variant="checkout-v2")),
        Scenario(HAPPY, shop.order("ord", [(notebook, 1)], "US", variant=None)),
        Scenario(HAPPY, shop.order("ord", [(mug, 1), (tee, 2)], "DE", variant="checkout-v2")),
        Scenario(REVIEW_APPROVED, shop.order("ord", [(bottle, 1)], "DE", token="tok_review_fraud_screen"), "approve"),
        Scenario(
            REVIEW_REJECTED, shop.order("ord", [(headphones, threshold_units)], "DE", token="tok_mastercard"), "reject"
        ),
        Scenario(REVIEW_TIMED_OUT, shop.order("ord", [(tee, 1)], "FR", token="tok_review_nobody_looks")),
        Scenario(DECLINED, shop.order("ord", [(mug, 1)], "DE", token="tok_decline_insufficient_funds")),
        Scenario(OUT_OF_STOCK, shop.order("ord", [(scarce, 1)], "US")),  # no warehouse serving US stocks it
        Scenario(PRICE_MISMATCH, shop.order("ord", [(mug, 3)], "DE", displayed_total=25.00)),
        Scenario(INVALID, {**shop.order("ord", [(mug, 1)], "DE"), "items": []}),
    ]
    for _ in range(max(level + 1, int(level * racers_per_unit))):
        scenarios.append(Scenario(RACE, shop.order("race", [(scarce, 1)], "DE", customer="racer")))
    return scenarios


# -- orders from marketplaces and stores (issue 15) -----------------------------------------------------
MARKETPLACE_SHIPPED = "marketplace order, shipped"
STORE_HANDED_OVER = "store sale, handed over"
MARKETPLACE_REDELIVERY = "marketplace redelivery"


@dataclass(frozen=True)
class ChannelScenario:
    """An order a connector receives in the marketplace's own format (its handler's event)."""

    path: str
    handler: str  # the connector's Lambda handler
    payload: dict[str, Any]
    order_id: str  # the order the shop takes it as: <marketplace>-<their id>


def channel_batch(storefront: Storefront) -> list[ChannelScenario]:
    """An eBuy order that ships, a city store sale handed over at the counter, and eBuy sending the first again."""
    from lambdas.marketplaces.registry import by_name

    ebuy, store = by_name("ebuy"), by_name("city_store")
    assert ebuy is not None and store is not None
    ebuy_items = [{"sku": "MUG-BLUE", "quantity": 2}, {"sku": "TEE-ORGANIC-M", "quantity": 1}]
    ebuy_total = quote(
        ebuy_items,
        "FR",
        storefront.catalog,
        storefront.pricing,
        ebuy.rules.discount_basis_points,
        ebuy.rules.shipping_cents,
    )["totalCents"]
    address = ADDRESSES["FR"]
    webhook = {
        "orderNumber": "EB-7001",
        "buyer": {"userId": "u77", "email": "marie@example.com"},
        "lines": [{"sellerSku": i["sku"], "qty": i["quantity"]} for i in ebuy_items],
        "shipTo": {
            "fullName": address["name"],
            "street": address["line1"],
            "city": address["city"],
            "zip": address["postalCode"],
            "countryCode": address["country"],
        },
        "grandTotal": f"{ebuy_total / 100:.2f}",
        "currency": storefront.pricing.currency,
        "paymentId": "EBPAY-7001",
    }
    store_items = [{"sku": "NOTEBOOK-A5-DOT", "quantity": 2}]
    receipt = {
        "receiptNo": "R-0042",
        "till": "T1",
        "customer": {"loyaltyId": "L-5", "email": "grace@example.com"},
        "lines": [{"sku": i["sku"], "qty": i["quantity"]} for i in store_items],
        "paidCents": quote(store_items, "DE", storefront.catalog, storefront.pricing, 0, store.rules.shipping_cents)[
            "totalCents"
        ],
        "currency": storefront.pricing.currency,
        "cardTerminalRef": "CT-0042",
        "deliverTo": None,
    }
    return [
        ChannelScenario(MARKETPLACE_SHIPPED, ebuy.handler, webhook, ebuy.order_id("EB-7001")),
        ChannelScenario(STORE_HANDED_OVER, store.handler, receipt, store.order_id("R-0042")),
        ChannelScenario(MARKETPLACE_REDELIVERY, ebuy.handler, dict(webhook), ebuy.order_id("EB-7001")),
    ]
