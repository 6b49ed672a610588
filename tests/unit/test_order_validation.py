"""ValidateOrder: a malformed order is rejected as Order.Invalid with a cause that names the field."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambdas.shared import constants
from lambdas.shared.errors import InvalidOrder
from lambdas.shared.order import parse_order
from lambdas.shared.stock import CatalogItem
from lambdas.validate_order import handler as validate_handler
from lambdas.validate_order.logic import validate
from tests.conftest import lambda_context
from tests.unit.reserve_stock_support import ORDER, order, seed_inventory

PRODUCTS = {
    "MUG-BLUE": CatalogItem("MUG-BLUE", "Mug", 1002, 14),
    "TEE-M": CatalogItem("TEE-M", "T-shirt", 1990, 21),
    "OLD-POSTER": CatalogItem("OLD-POSTER", "Poster", 500, 7, active=False),
}


def lookup(skus: Any) -> dict[str, CatalogItem]:
    return {sku: PRODUCTS[sku] for sku in skus if sku in PRODUCTS}


def mutated(path: str, value: Any = ..., delete: bool = False) -> dict[str, Any]:
    """The valid order with one field (dotted path, list indexes as numbers) set or deleted."""
    result = copy.deepcopy(ORDER)
    *parents, last = path.split(".")
    target: Any = result
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    key: Any = int(last) if isinstance(target, list) else last
    if delete:
        del target[key]
    else:
        target[key] = value
    return result


def rejection(raw: Any) -> str:
    with pytest.raises(InvalidOrder) as raised:
        parse_order(raw, "EUR")
    return str(raised.value)


def test_a_valid_order_is_returned_unchanged_but_for_the_displayed_total_in_cents() -> None:
    expected = {k: v for k, v in ORDER.items() if k != "displayedTotal"}
    assert parse_order(order(), "EUR") == {**expected, "displayedTotalCents": 2974}


def test_site_variant_defaults_to_control_and_line2_is_optional() -> None:
    raw = mutated("siteVariant", delete=True)
    raw["shippingAddress"]["line2"] = "Flat 3"
    normalised = parse_order(raw, "EUR")
    assert normalised["siteVariant"] == "control"
    assert normalised["shippingAddress"]["line2"] == "Flat 3"
    assert "siteVariant" not in raw  # the caller's input is not mutated


def test_the_limits_themselves_are_accepted() -> None:
    items = [{"sku": f"SKU-{n}", "quantity": constants.MAX_LINE_QUANTITY} for n in range(constants.MAX_ORDER_LINES)]
    assert len(parse_order(order(items=items, displayedTotal=0), "EUR")["items"]) == constants.MAX_ORDER_LINES
    assert parse_order(order(orderId="a" * 64, displayedTotal=12), "EUR")["orderId"] == "a" * 64


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("orderId", "orderId: is required"),
        ("customer", "customer: is required"),
        ("customer.email", "customer.email: is required"),
        ("items", "items: is required"),
        ("items.0.quantity", "items[0].quantity: is required"),
        ("shippingAddress.city", "shippingAddress.city: is required"),
        ("shippingAddress.country", "shippingAddress.country: is required"),
        ("currency", "currency: is required"),
        ("displayedTotal", "displayedTotal: is required"),
        ("payment.token", "payment.token: is required"),
    ],
)
def test_missing_fields_are_named(path: str, message: str) -> None:
    assert rejection(mutated(path, delete=True)) == message


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("coupon", "coupon: unknown field"),
        ("customer.phone", "customer.phone: unknown field"),
        ("items.0.price", "items[0].price: unknown field"),
        ("shippingAddress.state", "shippingAddress.state: unknown field"),
        ("payment.cvv", "payment.cvv: unknown field"),
    ],
)
def test_unknown_fields_anywhere_are_rejected(path: str, message: str) -> None:
    assert rejection(mutated(path, "x")) == message


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("orderId", 1001, "orderId: must be a string, got number"),
        ("customer", "cust-42", "customer: must be an object, got string"),
        ("items", {"sku": "MUG-BLUE"}, "items: must be an array, got object"),
        ("items.0", "MUG-BLUE", "items[0]: must be an object, got string"),
        ("items.0.quantity", "2", "items[0].quantity: must be an integer from 1 to 1000, got '2'"),
        ("items.0.quantity", True, "items[0].quantity: must be an integer from 1 to 1000, got True"),
        ("items.0.quantity", 2.0, "items[0].quantity: must be an integer from 1 to 1000, got 2.0"),
        ("items.0.quantity", None, "items[0].quantity: must be an integer from 1 to 1000, got None"),
        ("shippingAddress", None, "shippingAddress: must be an object, got null"),
        ("displayedTotal", "29.74", "displayedTotal: must be a number, got string"),
        ("displayedTotal", True, "displayedTotal: must be a number, got boolean"),
        ("displayedTotal", None, "displayedTotal: must be a number, got null"),
        ("payment", [], "payment: must be an object, got array"),
        ("siteVariant", None, "siteVariant: must be a string, got null"),
    ],
)
def test_wrong_types_are_named(path: str, value: Any, message: str) -> None:
    assert rejection(mutated(path, value)) == message


@pytest.mark.parametrize("quantity", [0, -3, 1001, 10**20])
def test_quantities_out_of_range_are_rejected(quantity: int) -> None:
    assert rejection(mutated("items.0.quantity", quantity)) == (
        f"items[0].quantity: must be an integer from 1 to 1000, got {quantity}"
    )


def test_too_many_or_no_lines_are_rejected() -> None:
    lines = [{"sku": f"SKU-{n}", "quantity": 1} for n in range(constants.MAX_ORDER_LINES + 1)]
    assert rejection(order(items=lines)) == "items: must have 1 to 25 entries, got 26"
    assert rejection(order(items=[])) == "items: must have 1 to 25 entries, got 0"


def test_a_repeated_sku_names_both_lines() -> None:
    items = [{"sku": "MUG-BLUE", "quantity": 1}, {"sku": "TEE-M", "quantity": 1}, {"sku": "MUG-BLUE", "quantity": 2}]
    assert rejection(order(items=items)) == "items[2].sku: duplicate of items[0].sku (MUG-BLUE)"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("orderId", "ord 1001"),
        ("orderId", "ord-1001\n"),
        ("orderId", "o" * 65),
        ("orderId", ""),
        ("items.0.sku", "mug-blue"),
        ("items.0.sku", "-MUG"),
        ("items.0.sku", "M" * 41),
        ("customer.id", "cust 42"),
        ("customer.email", "ada.example.com"),
        ("customer.email", "ada@example"),
        ("customer.email", "ada@@example.com"),
        ("shippingAddress.country", "de"),
        ("shippingAddress.country", "DEU"),
        ("shippingAddress.country", "D1"),
        ("shippingAddress.name", "N" * 101),
        ("shippingAddress.city", "   "),
        ("shippingAddress.postalCode", "1" * 17),
        ("payment.token", "t" * 257),
        ("currency", "eur"),
        ("siteVariant", "checkout v2"),
    ],
)
def test_bad_strings_are_rejected_naming_the_field(path: str, value: str) -> None:
    expected = path.replace(".0.", "[0].")
    assert rejection(mutated(path, value)).startswith(f"{expected}: ")


def test_an_invalid_email_is_not_echoed_into_the_execution_history() -> None:
    assert rejection(mutated("customer.email", "ada at example.com")) == "customer.email: must be an e-mail address"


def test_the_currency_must_be_the_pricing_currency() -> None:
    assert rejection(order(currency="USD")) == "currency: must be EUR (the shop's currency), got 'USD'"
    assert parse_order(order(currency="USD"), "USD")["currency"] == "USD"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-0.01, "must not be negative"),
        (29.745, "must have at most 2 decimals"),
        (1e-7, "must have at most 2 decimals"),
        (float("nan"), "must be a finite number"),
        (float("inf"), "must be a finite number"),
        (1e300, "must be at most 10000000"),
        (10**400, "must be at most 10000000"),
    ],
)
def test_displayed_total_must_be_an_amount_in_cents(value: float, message: str) -> None:
    assert rejection(order(displayedTotal=value)).startswith(f"displayedTotal: {message}")


@pytest.mark.parametrize("value", [0, 29, 29.7, 29.74, 0.1, 9_999_999.99])
def test_displayed_totals_with_up_to_two_decimals_are_accepted_as_exact_cents(value: float) -> None:
    assert parse_order(order(displayedTotal=value), "EUR")["displayedTotalCents"] == round(value * 100)


@pytest.mark.parametrize("raw", [None, [], [ORDER], "ord-1001", 42, True])
def test_input_that_is_not_an_object_is_invalid(raw: Any) -> None:
    assert rejection(raw).startswith("order: must be an object, got ")


def test_unknown_and_withdrawn_skus_are_all_named() -> None:
    items = [
        {"sku": "MUG-BLUE", "quantity": 1},
        {"sku": "NO-SUCH", "quantity": 1},
        {"sku": "OLD-POSTER", "quantity": 1},
    ]
    with pytest.raises(InvalidOrder) as raised:
        validate(order(items=items), "EUR", lookup)
    assert str(raised.value) == "items[1].sku: unknown SKU 'NO-SUCH'; items[2].sku: 'OLD-POSTER' is no longer sold"


def test_the_catalog_is_not_asked_about_a_malformed_order() -> None:
    def no_lookup(skus: Any) -> dict[str, CatalogItem]:
        raise AssertionError("catalog read for an invalid order")

    with pytest.raises(InvalidOrder, match="currency"):
        validate(order(currency="GBP"), "EUR", no_lookup)


# Any JSON value, to put in place of the whole order or of one of its fields.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=80),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
FIELD_PATHS = [
    "orderId",
    "customer",
    "customer.id",
    "customer.email",
    "items",
    "items.0",
    "items.0.sku",
    "items.0.quantity",
    "shippingAddress",
    "shippingAddress.country",
    "shippingAddress.postalCode",
    "currency",
    "displayedTotal",
    "payment",
    "payment.method",
    "siteVariant",
    "extra",
]


@settings(max_examples=300, deadline=None)
@given(path=st.sampled_from(FIELD_PATHS), value=json_values)
def test_any_value_in_any_field_is_accepted_or_rejected_as_invalid(path: str, value: Any) -> None:
    """Never another exception, and the cause names the field that was changed (or one inside it)."""
    try:
        validate(mutated(path, value), "EUR", lookup)
    except InvalidOrder as error:
        named = str(error).split(": ")[0].replace("[", ".").replace("]", "")
        assert named == path or named.startswith(f"{path}.")


@settings(max_examples=200, deadline=None)
@given(raw=json_values)
def test_any_json_input_is_rejected_as_invalid_and_nothing_else(raw: Any) -> None:
    with pytest.raises(InvalidOrder):
        validate(raw, "EUR", lookup)


# ---------------------------------------------------------------------------
# The handler, on moto: catalog from the inventory table, currency from PRICING_JSON.
# ---------------------------------------------------------------------------
@pytest.fixture
def catalog(tables: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    seed_inventory(monkeypatch)


def task(raw: Any, execution_name: str | None = None) -> dict[str, Any]:
    """ValidateOrder's input as the workflow builds it: the execution input and the execution's name."""
    name = execution_name if execution_name is not None else (raw.get("orderId") if isinstance(raw, dict) else None)
    return {"order": raw, "executionName": name if isinstance(name, str) else "unnamed"}


def test_handler_returns_the_normalised_order(catalog: None) -> None:
    raw = order()
    del raw["siteVariant"]
    normalised = {k: v for k, v in ORDER.items() if k != "displayedTotal"}
    assert validate_handler.handler(task(raw), lambda_context()) == {
        **normalised,
        "siteVariant": "control",
        "displayedTotalCents": 2974,
        "channel": constants.CHANNEL_WEB,
        "fulfilment": constants.FULFILMENT_SHIPPED,
    }


@pytest.mark.parametrize("raw", [["not", "an", "order"], "ord-1001", None, {"orderId": {"nested": 1}}])
def test_handler_rejects_anything_under_the_step_functions_error_name(catalog: None, raw: Any) -> None:
    with pytest.raises(InvalidOrder) as raised:
        validate_handler.handler(task(raw), lambda_context())
    assert type(raised.value).__name__ == constants.ERROR_INVALID


def test_handler_checks_skus_against_the_inventory_table(catalog: None) -> None:
    with pytest.raises(InvalidOrder, match=r"^items\[0\]\.sku: unknown SKU 'NO-SUCH'$"):
        validate_handler.handler(task(order(items=[{"sku": "NO-SUCH", "quantity": 1}])), lambda_context())
    with pytest.raises(InvalidOrder, match="'OLD-POSTER' is no longer sold"):
        validate_handler.handler(task(order(items=[{"sku": "OLD-POSTER", "quantity": 1}])), lambda_context())


def test_handler_takes_the_currency_from_the_stack_pricing(catalog: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(constants.ENV_PRICING, json.dumps({**constants.DEFAULT_PRICING, "currency": "GBP"}))
    with pytest.raises(InvalidOrder, match="currency: must be GBP"):
        validate_handler.handler(task(order()), lambda_context())
    assert validate_handler.handler(task(order(currency="GBP")), lambda_context())["currency"] == "GBP"


def test_handler_refuses_an_execution_not_named_after_the_order(catalog: None) -> None:
    # Finding 5 of issue 10: an order started under another name would run a second time.
    with pytest.raises(InvalidOrder, match=r"^orderId: must equal the execution name, got orderId 'ord-1001'"):
        validate_handler.handler(task(order(), execution_name="ord-1001-again"), lambda_context())


@pytest.mark.parametrize("event", [order(), {"order": order()}, {"executionName": "ord-1001"}, None])
def test_handler_refuses_input_that_is_not_the_workflows_task(catalog: None, event: Any) -> None:
    with pytest.raises(InvalidOrder, match=r"^ValidateOrder expects \{order, executionName\}"):
        validate_handler.handler(event, lambda_context())
