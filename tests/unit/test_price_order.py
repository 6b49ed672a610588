"""PriceOrder: exact cents, tax and shipping by the stack's pricing, and the displayed total checked."""

from __future__ import annotations

import json
from typing import Any

import pytest

from examples.seed import load_catalog
from lambdas.price_order import handler as price_handler
from lambdas.price_order.logic import price
from lambdas.shared import constants
from lambdas.shared.adapters import inventory
from lambdas.shared.errors import InvalidOrder, PriceMismatch, Undeliverable
from lambdas.shared.order import parse_order, to_cents
from lambdas.shared.pricing import Pricing, pricing_from_env, quote, tax_cents, verify_displayed_total
from lambdas.shared.stock import CatalogItem
from tests.conftest import lambda_context
from tests.unit.reserve_stock_support import contract_example, normalised, seed_inventory

PRICING = Pricing(
    currency="EUR", tax_rate_basis_points={"DE": 1900, "US": 0}, shipping_cents=495, free_shipping_from_cents=5000
)
CATALOG = {
    "MUG-BLUE": CatalogItem("MUG-BLUE", "Mug", 1002, 14),
    "LAMP-ARC": CatalogItem("LAMP-ARC", "Lamp", 14900, 45),
    "PEN": CatalogItem("PEN", "Pen", 85, 3),
}


def lines(*pairs: tuple[str, int]) -> list[dict[str, Any]]:
    return [{"sku": sku, "quantity": quantity} for sku, quantity in pairs]


def test_a_small_order_pays_shipping_and_tax_on_goods_and_shipping() -> None:
    assert quote(lines(("MUG-BLUE", 2), ("PEN", 3)), "DE", CATALOG, PRICING) == {
        "lines": [
            {"sku": "MUG-BLUE", "quantity": 2, "unitPriceCents": 1002, "lineTotalCents": 2004},
            {"sku": "PEN", "quantity": 3, "unitPriceCents": 85, "lineTotalCents": 255},
        ],
        "subtotalCents": 2259,
        "shippingCents": 495,
        # (2259 + 495) x 19% = 523.26
        "taxCents": 523,
        "totalCents": 3277,
        "currency": "EUR",
    }


def test_shipping_is_free_from_the_threshold_on() -> None:
    pricing = PRICING._replace(free_shipping_from_cents=5010)
    at = quote(lines(("MUG-BLUE", 5)), "US", CATALOG, pricing)  # exactly 5010
    just_below = quote(lines(("MUG-BLUE", 4), ("PEN", 11)), "US", CATALOG, pricing)  # 4008 + 935 = 4943
    assert (at["subtotalCents"], at["shippingCents"], at["totalCents"]) == (5010, 0, 5010)
    assert (just_below["subtotalCents"], just_below["shippingCents"]) == (4943, 495)


def test_tax_rounds_half_up_once_per_order() -> None:
    assert tax_cents(85, 1000) == 9  # 8.5 -> 9 (half-even would give 8, truncation 8)
    assert tax_cents(84, 1000) == 8  # 8.4 -> 8
    assert tax_cents(0, 1900) == 0
    # One rounding for the order: three lines of 8.5 cents tax each are 25.5 -> 26, not 3 x 9 = 27.
    pricing = Pricing("EUR", {"DE": 1000}, shipping_cents=0, free_shipping_from_cents=0)
    catalog = {sku: CatalogItem(sku, sku, 85, 1) for sku in ("A", "B", "C")}
    assert quote(lines(("A", 1), ("B", 1), ("C", 1)), "DE", catalog, pricing)["taxCents"] == 26


def test_a_country_without_a_tax_rate_is_undeliverable() -> None:
    with pytest.raises(Undeliverable, match=r"shippingAddress\.country: no tax rate is configured for JP"):
        quote(lines(("PEN", 1)), "JP", CATALOG, PRICING)


def test_a_product_withdrawn_since_validation_is_invalid() -> None:
    catalog = {**CATALOG, "PEN": CatalogItem("PEN", "Pen", 85, 3, active=False)}
    with pytest.raises(InvalidOrder, match=r"items\[1\]\.sku: 'PEN' is no longer sold"):
        quote(lines(("MUG-BLUE", 1), ("PEN", 1)), "DE", catalog, PRICING)


@pytest.mark.parametrize(
    ("amount", "cents"),
    # Each float here times 100 is just below the integer: int(x * 100) would lose a cent.
    [(0.29, 29), (1.15, 115), (4.35, 435), (19.99, 1999), (0.57, 57), (29.74, 2974), (10, 1000), (0, 0)],
)
def test_displayed_totals_convert_to_exact_cents(amount: float, cents: int) -> None:
    assert to_cents(amount) == cents


def test_a_displayed_total_with_a_fraction_of_a_cent_is_never_rounded() -> None:
    with pytest.raises(ValueError, match="more than 2 decimals"):
        to_cents(1.005)


def test_a_matching_total_passes_and_a_cent_off_is_a_mismatch_showing_both() -> None:
    priced = quote(lines(("MUG-BLUE", 2)), "DE", CATALOG, PRICING)
    verify_displayed_total(priced, 2974)
    with pytest.raises(PriceMismatch) as raised:
        verify_displayed_total(priced, 2975)
    assert str(raised.value) == (
        "displayedTotal: the customer was shown 29.75 EUR but the order totals 29.74 EUR "
        "(subtotal 20.04 EUR, shipping 4.95 EUR, tax 4.75 EUR)"
    )
    assert type(raised.value).__name__ == constants.ERROR_PRICE_MISMATCH


def test_price_returns_the_quote_when_the_customer_saw_it() -> None:
    assert price(normalised(), CATALOG, PRICING)["totalCents"] == 2974
    with pytest.raises(PriceMismatch):
        price(normalised(displayedTotal=29.73), CATALOG, PRICING)


def test_validate_order_hands_on_the_displayed_total_in_cents_and_price_order_compares_cents() -> None:
    """The shop sends currency units; from ValidateOrder on the order carries exact cents only."""
    order = normalised(displayedTotal=29.74)
    assert order["displayedTotalCents"] == 2974 and "displayedTotal" not in order
    assert price({**order, "displayedTotalCents": 2974}, CATALOG, PRICING)["totalCents"] == 2974
    with pytest.raises(PriceMismatch, match=r"shown 29\.73 EUR"):
        price({**order, "displayedTotalCents": 2973}, CATALOG, PRICING)


def test_pricing_comes_from_the_environment_or_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(constants.ENV_PRICING, raising=False)
    assert pricing_from_env() == Pricing.from_config(constants.DEFAULT_PRICING)
    monkeypatch.setenv(constants.ENV_PRICING, json.dumps({**constants.DEFAULT_PRICING, "shippingCents": 0}))
    assert pricing_from_env().shipping_cents == 0


def test_the_contract_example_prices_to_its_displayed_total_with_the_example_catalog() -> None:
    """docs/CONTRACTS.md's order, priced from examples/catalog.json with the default pricing."""
    catalog = {
        p["sku"]: CatalogItem(p["sku"], p["name"], p["priceCents"], p["leadTimeDays"])
        for p in load_catalog()["products"]
    }
    example = contract_example()
    priced = price(parse_order(example, "EUR"), catalog, Pricing.from_config(constants.DEFAULT_PRICING))
    assert priced["totalCents"] == to_cents(example["displayedTotal"])


# ---------------------------------------------------------------------------
# The handler, on moto: prices from the inventory table's catalog.
# ---------------------------------------------------------------------------
@pytest.fixture
def catalog(tables: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(constants.ENV_PRICING, raising=False)
    seed_inventory(monkeypatch)


def test_handler_returns_the_contract_shape(catalog: None) -> None:
    assert price_handler.handler({"order": normalised()}, lambda_context()) == {
        "lines": [{"sku": "MUG-BLUE", "quantity": 2, "unitPriceCents": 1002, "lineTotalCents": 2004}],
        "subtotalCents": 2004,
        "taxCents": 475,
        "shippingCents": 495,
        "totalCents": 2974,
        "currency": "EUR",
    }


def test_handler_raises_price_mismatch_when_the_catalog_price_changed(catalog: None) -> None:
    inventory.seed({"products": [{"sku": "MUG-BLUE", "name": "Mug", "priceCents": 1100, "leadTimeDays": 14}]})
    with pytest.raises(PriceMismatch, match=r"shown 29\.74 EUR but the order totals 32\.07 EUR"):
        price_handler.handler({"order": normalised()}, lambda_context())


def test_handler_uses_the_stack_pricing(catalog: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(constants.ENV_PRICING, json.dumps({**constants.DEFAULT_PRICING, "freeShippingFromCents": 2000}))
    # 20.04 + 19% tax, no shipping
    priced = price_handler.handler({"order": normalised(displayedTotal=23.85)}, lambda_context())
    assert (priced["shippingCents"], priced["totalCents"]) == (0, 2385)
