"""The order model: strict validation of an execution's input (the catalog items and holds it refers to: stock.py).

Pure Python (no AWS, no pydantic: ValidateOrder's cold start matters). A tiny schema walker checks
the order in docs/CONTRACTS.md; every failure is an ``InvalidOrder`` whose message starts with the
path of the offending field (``items[1].quantity: ...``), because that message becomes the cause a
person reads in the Step Functions console.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from lambdas.shared import constants
from lambdas.shared.errors import InvalidOrder
from lambdas.shared.stock import CatalogItem

DEFAULT_SITE_VARIANT = "control"
# Larger totals are certainly typos; the bound also keeps Decimal arithmetic exact.
MAX_DISPLAYED_TOTAL = Decimal(10_000_000)

_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_COUNTRY = re.compile(r"[A-Z]{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
_CUSTOMER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")
# Patterns in constants are anchored for other readers (JSON schema, docs); fullmatch ignores the anchors.
_ORDER_ID = re.compile(constants.ORDER_ID_PATTERN)
_SKU = re.compile(constants.SKU_PATTERN)
_CHANNEL = re.compile(constants.CHANNEL_PATTERN)
_FULFILMENT = re.compile(rf"{constants.FULFILMENT_SHIPPED}|{constants.FULFILMENT_HANDED_OVER}")

Validator = Callable[[Any, str], Any]


# ---------------------------------------------------------------------------
# Validators: each takes (value, path) and returns the normalised value or raises InvalidOrder.
# ---------------------------------------------------------------------------
def json_type(value: object) -> str:
    """The JSON name of a value's type, for messages a caller of the API understands."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def shown(value: object, limit: int = 40) -> str:
    """A value as it appears in a message: short, so a 1 MB string does not become the cause."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fail(path: str, message: str) -> InvalidOrder:
    return InvalidOrder(f"{path}: {message}")


def string(max_length: int, pattern: re.Pattern[str] | None = None, expected: str = "", echo: bool = True) -> Validator:
    """A non-blank string up to ``max_length`` characters, optionally matching ``pattern`` in full.

    ``echo=False`` keeps personal data (e-mail addresses) out of the message, which lands in the
    execution history.
    """

    def check(value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise fail(path, f"must be a string, got {json_type(value)}")
        if not value.strip():
            raise fail(path, "must not be blank")
        if len(value) > max_length:
            raise fail(path, f"must be at most {max_length} characters, got {len(value)}")
        if pattern is not None and not pattern.fullmatch(value):
            raise fail(path, f"must be {expected}" + (f", got {shown(value)}" if echo else ""))
        return value

    return check


def integer(minimum: int, maximum: int) -> Validator:
    def check(value: Any, path: str) -> int:
        # bool is an int subclass in Python but not a number in JSON: true must not mean 1.
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise fail(path, f"must be an integer from {minimum} to {maximum}, got {shown(value)}")
        return value

    return check


def money(value: Any, path: str) -> int | float | Decimal:
    """A non-negative amount with at most 2 decimals (JSON number; floats are read via their repr)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise fail(path, f"must be a number, got {json_type(value)}")
    amount = to_decimal(value)
    if not amount.is_finite():
        raise fail(path, f"must be a finite number, got {shown(value)}")
    if amount < 0:
        raise fail(path, f"must not be negative, got {shown(value)}")
    if amount > MAX_DISPLAYED_TOTAL:
        raise fail(path, f"must be at most {MAX_DISPLAYED_TOTAL}, got {shown(value)}")
    if amount != amount.quantize(Decimal("0.01")):
        raise fail(path, f"must have at most 2 decimals, got {shown(value)}")
    return value


def to_decimal(value: int | float | Decimal) -> Decimal:
    """Exact decimal of a JSON number: a float goes through its shortest repr, so 29.74 stays 29.74."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def to_cents(amount: int | float | Decimal) -> int:
    """Exact cents of an amount with at most 2 decimals (ValueError otherwise, never a silent rounding)."""
    cents = to_decimal(amount) * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount!r} has more than 2 decimals")
    return int(cents)


def obj(fields: Mapping[str, tuple[Validator, bool]]) -> Validator:
    """An object with exactly these fields ({name: (validator, required)}); unknown fields are errors."""

    def check(value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise fail(path or "order", f"must be an object, got {json_type(value)}")
        for key in value:
            if key not in fields:
                raise fail(_join(path, str(key)), "unknown field")
        result = {}
        for name, (validator, required) in fields.items():
            if name in value:
                result[name] = validator(value[name], _join(path, name))
            elif required:
                raise fail(_join(path, name), "is required")
        return result

    return check


def _join(path: str, name: str) -> str:
    # The order itself has no name in the contract: its fields read "items[0].sku", not "order.items[0].sku".
    return f"{path}.{name}" if path else name


def array(item: Validator, min_items: int, max_items: int) -> Validator:
    def check(value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise fail(path, f"must be an array, got {json_type(value)}")
        if not min_items <= len(value) <= max_items:
            raise fail(path, f"must have {min_items} to {max_items} entries, got {len(value)}")
        return [item(entry, f"{path}[{index}]") for index, entry in enumerate(value)]

    return check


# ---------------------------------------------------------------------------
# The order schema (docs/CONTRACTS.md). Paths are reported without a root prefix: "items[0].sku".
# ---------------------------------------------------------------------------
_LINE = obj(
    {
        "sku": (string(40, _SKU, "a SKU (A-Z, 0-9 and '-', starting with a letter or digit)"), True),
        "quantity": (integer(1, constants.MAX_LINE_QUANTITY), True),
    }
)
_ADDRESS = obj(
    {
        "name": (string(100), True),
        "line1": (string(100), True),
        "line2": (string(100), False),
        "city": (string(100), True),
        "postalCode": (string(16), True),
        "country": (string(2, _COUNTRY, "an ISO 3166 country code of 2 upper-case letters"), True),
    }
)
_CUSTOMER = obj(
    {
        "id": (string(64, _CUSTOMER_ID, "letters, digits, '_', '.', ':' or '-'"), True),
        "email": (string(254, _EMAIL, "an e-mail address", echo=False), True),
    }
)
# The order id alone: also what the order API checks a path's {orderId} with.
order_id = string(64, _ORDER_ID, "letters, digits, '_' or '-'")
_ORDER_FIELDS: dict[str, tuple[Validator, bool]] = {
    "orderId": (order_id, True),
    "customer": (_CUSTOMER, True),
    "items": (array(_LINE, 1, constants.MAX_ORDER_LINES), True),
    "shippingAddress": (_ADDRESS, True),
    "currency": (string(3, _CURRENCY, "a currency code of 3 upper-case letters"), True),
    "displayedTotal": (money, True),
    "payment": (obj({"method": (string(32), True), "token": (string(256), True)}), True),
    "siteVariant": (string(64, _TOKEN, "letters, digits, '_' or '-'"), False),
}
_ORDER = obj(_ORDER_FIELDS)
# What the workflow accepts besides: an order from a marketplace or a store (started by the intake subscriber;
# the order API refuses these fields). lambdas/marketplaces/registry.py checks the combination.
_CHANNEL_ORDER = obj(
    {
        **_ORDER_FIELDS,
        "channel": (string(64, _CHANNEL, "web, marketplace:<name> or store:<name>"), False),
        "fulfilment": (
            string(16, _FULFILMENT, f"{constants.FULFILMENT_SHIPPED} or {constants.FULFILMENT_HANDED_OVER}"),
            False,
        ),
    }
)


def parse_order(raw: Any, currency: str, channel_orders: bool = False) -> dict[str, Any]:
    """The normalised order, or ``InvalidOrder`` naming the first offending field.

    ``currency`` is the pricing currency: the shop sells in exactly one. The shop sends ``displayedTotal``
    in currency units; from here on it travels as ``displayedTotalCents`` (exact: at most 2 decimals).
    ``channel_orders``: also accept ``channel`` and ``fulfilment`` (the workflow does; the order API does not).
    """
    order: dict[str, Any] = (_CHANNEL_ORDER if channel_orders else _ORDER)(raw, "")
    if order["currency"] != currency:
        raise fail("currency", f"must be {currency} (the shop's currency), got {shown(order['currency'])}")
    first_line: dict[str, int] = {}
    for index, line in enumerate(order["items"]):
        if line["sku"] in first_line:
            raise fail(f"items[{index}].sku", f"duplicate of items[{first_line[line['sku']]}].sku ({line['sku']})")
        first_line[line["sku"]] = index
    order.setdefault("siteVariant", DEFAULT_SITE_VARIANT)
    order["displayedTotalCents"] = to_cents(order.pop("displayedTotal"))
    return order


def check_catalog(items: Iterable[Mapping[str, Any]], catalog: Mapping[str, CatalogItem]) -> None:
    """``InvalidOrder`` naming every line whose SKU is unknown or no longer sold."""
    problems = []
    for index, line in enumerate(items):
        product = catalog.get(line["sku"])
        if product is None:
            problems.append(f"items[{index}].sku: unknown SKU {line['sku']!r}")
        elif not product.active:
            problems.append(f"items[{index}].sku: {line['sku']!r} is no longer sold")
    if problems:
        raise InvalidOrder("; ".join(problems))
