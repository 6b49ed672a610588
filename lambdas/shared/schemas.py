"""The one source of truth for every event we publish: JSON Schema (Draft 4) built from these dicts.

- ``detail_schema(name)``: the EventBridge ``detail`` (``{metadata, data}``, see ``events.py``).
  Consumers read it tolerantly (additional properties allowed), so adding an optional field
  never breaks them; ``strict=True`` forbids undeclared fields, which the producer tests use so
  that nothing (a card token, an address) leaks into an event without a schema change.
- ``registry_schema(name)``: the whole EventBridge event, as the stack publishes it to the
  EventBridge Schema Registry (consumers download code bindings from there).

tests/contract/snapshots/ holds the published version; a change that would break a consumer
(a field removed, renamed, retyped or newly required) fails tests/contract.
Plain dicts, no third-party imports: this module ships with the Lambda code.
"""

from __future__ import annotations

import copy
from typing import Any

from lambdas.shared import constants

Schema = dict[str, Any]

DRAFT4 = "http://json-schema.org/draft-04/schema#"


def _string(description: str, **extra: Any) -> Schema:
    return {"type": "string", "description": description, **extra}


def _cents(description: str) -> Schema:
    return {"type": "integer", "description": f"{description}, in minor units (cents)"}


def _object(properties: dict[str, Schema], required: list[str] | None = None, description: str = "") -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    schema["required"] = list(properties) if required is None else required
    if description:
        schema["description"] = description
    return schema


ORDER_ID = _string("The order id; also the workflow execution name", pattern=constants.ORDER_ID_PATTERN)
SKU = _string("Stock keeping unit", pattern=constants.SKU_PATTERN)
CURRENCY = _string("ISO 4217 currency code", pattern="^[A-Z]{3}$")
WAREHOUSE_ID = _string("The warehouse that holds and ships the stock")
CHANNEL = _string(
    "Where the order came from: web, marketplace:<name> or store:<name> (absent: web, before channels existed)",
    pattern=constants.CHANNEL_PATTERN,
)
FULFILMENT = _string(
    "shipped, or handed-over (sold in a store: nothing ships); absent: shipped",
    enum=[constants.FULFILMENT_SHIPPED, constants.FULFILMENT_HANDED_OVER],
)
MARKETPLACE_NAME = _string("The connector's name (lambdas/marketplaces/registry.py)", pattern="^[a-z][a-z0-9_]*$")
CUSTOMER = _object(
    {
        "id": _string("Customer id"),
        "email": _string("Where the order confirmation goes", format="email"),
    }
)
ADDRESS = _object(
    {
        "name": _string("Recipient"),
        "line1": _string("Street and number"),
        "line2": _string("More of the address"),
        "city": _string("City"),
        "postalCode": _string("Postal code"),
        "country": _string("ISO 3166 alpha-2 country code", pattern="^[A-Z]{2}$"),
    },
    required=["name", "line1", "city", "postalCode", "country"],
)

METADATA = _object(
    {
        "eventVersion": _string("Major version of this event's schema; bumped only by a breaking change"),
        "correlationId": _string("The order id this event belongs to (for logs and traces)"),
        "occurredAt": _string("When it happened (ISO 8601, UTC)", format="date-time"),
        "producer": _string("What published the event: order-workflow, inventory, ..."),
        "executionArn": _string("The workflow execution that published it (workflow events only)"),
    },
    required=["eventVersion", "correlationId", "occurredAt", "producer"],
)

# Only what a subscriber needs: the customer's e-mail (for the confirmation) but no name,
# no address, no payment data.
_DATA: dict[str, Schema] = {
    constants.EVENT_ORDER_COMPLETED: _object(
        {
            "orderId": ORDER_ID,
            "customer": CUSTOMER,
            "siteVariant": _string("The website variant the order came through (A/B test), 'control' by default"),
            "warehouseId": WAREHOUSE_ID,
            "lines": {
                "type": "array",
                "minItems": 1,
                "items": _object(
                    {
                        "sku": SKU,
                        "quantity": {"type": "integer", "minimum": 1},
                        "unitPriceCents": _cents("Unit price"),
                        "lineTotalCents": _cents("quantity x unit price"),
                    }
                ),
            },
            "subtotalCents": _cents("Sum of the lines"),
            "taxCents": _cents("Tax"),
            "shippingCents": _cents("Shipping"),
            "totalCents": _cents("What was charged"),
            "currency": CURRENCY,
            "channel": CHANNEL,
            "fulfilment": FULFILMENT,
            "destinationCountry": _string("Where the order ships to (ISO 3166 alpha-2)", pattern="^[A-Z]{2}$"),
        },
        required=[
            "orderId",
            "customer",
            "siteVariant",
            "warehouseId",
            "lines",
            "subtotalCents",
            "taxCents",
            "shippingCents",
            "totalCents",
            "currency",
        ],
        description=(
            "The order is paid, booked and on its way to the warehouse (fulfilment handed-over: sold and handed "
            "over in a store, nothing ships)."
        ),
    ),
    constants.EVENT_ORDER_FAILED: _object(
        {
            "orderId": ORDER_ID,
            "customerId": _string("Customer id"),
            "channel": CHANNEL,
            "error": _string("The named error, e.g. Order.OutOfStock"),
            "cause": _string("Human-readable cause"),
            "compensation": {
                "type": "object",
                "description": (
                    "What each compensation step did (cancelShipment, refundPayment, releaseStock, "
                    "publishOrderFailed): its result, or {Error, Cause} when it could not finish and is "
                    "left for `orderctl repair`"
                ),
                "additionalProperties": {"type": "object"},
            },
        },
        required=["orderId", "customerId", "error", "cause"],
        description=(
            "The order ended without a sale; whatever was held or charged has been given back, except what "
            "`compensation` names as failed (the order then ends in Order.CompensationFailed)."
        ),
    ),
    constants.EVENT_PAYMENT_REVIEW_REQUESTED: _object(
        {
            "orderId": ORDER_ID,
            "customerId": _string("Customer id"),
            "channel": CHANNEL,
            "amountCents": _cents("Amount awaiting review"),
            "currency": CURRENCY,
            "reviewDeadline": _string("The order fails if no decision arrives by then", format="date-time"),
        },
        required=["orderId", "customerId", "amountCents", "currency", "reviewDeadline"],
        description="The payment needs a person's decision; the order waits for it.",
    ),
    constants.EVENT_REORDER_SUGGESTED: _object(
        {
            "suggestionId": _string("Stable id of this suggestion (sku, warehouse, day): dedupe on it"),
            "sku": SKU,
            "warehouseId": WAREHOUSE_ID,
            "available": {"type": "integer", "description": "Units available after the sale"},
            "dailyVelocity": {"type": "number", "minimum": 0, "description": "Units sold per day, trailing window"},
            "coverDays": {"type": "number", "minimum": 0, "description": "Days the available stock lasts"},
            "leadTimeDays": {"type": "integer", "minimum": 0, "description": "Supplier lead time"},
            "suggestedQuantity": {"type": "integer", "minimum": 1, "description": "Units to order"},
        },
        description="Stock at a warehouse will run out before a new delivery could arrive.",
    ),
    constants.EVENT_MARKETPLACE_ORDER_RECEIVED: _object(
        {
            "marketplace": MARKETPLACE_NAME,
            "marketplaceOrderId": _string("The marketplace's own order id", pattern="^[A-Za-z0-9_-]{1,40}$"),
            "customer": CUSTOMER,
            "items": {
                "type": "array",
                "minItems": 1,
                "items": _object({"sku": SKU, "quantity": {"type": "integer", "minimum": 1}}),
            },
            "fulfilment": FULFILMENT,
            "shippingAddress": ADDRESS,
            "totalCents": _cents("What the buyer paid the marketplace or the store, shipping and tax included"),
            "currency": CURRENCY,
            "paymentReference": _string("The marketplace's or the till's payment id (we charge nothing)"),
        },
        description=(
            "A marketplace or a store sold our goods; the shop takes the order (source: "
            "com.example.marketplace.<name>, published by that connector, possibly from another account)."
        ),
    ),
    constants.EVENT_SHIPMENT_ASSIGNED: _object(
        {
            "orderId": ORDER_ID,
            "customer": CUSTOMER,
            "channel": CHANNEL,
            "warehouseId": WAREHOUSE_ID,
            "destinationCountry": _string("Where the parcel goes (ISO 3166 alpha-2)", pattern="^[A-Z]{2}$"),
            "carrier": _string("The delivery partner booked"),
            "bookingReference": _string("Our reference at the carrier (one booking per order)"),
            "trackingNumber": _string("The carrier's tracking number"),
            "parcelWeightGrams": {"type": "integer", "minimum": 1, "description": "Weight of the parcel"},
            "promisedDate": _string("Delivered by this day (ISO 8601 date)", format="date"),
        },
        description="A delivery partner is booked for a shipped order; its tracking number is known.",
    ),
}

# Who publishes each event: our source, except what the marketplace connectors publish under their own.
_SOURCES: dict[str, str] = {constants.EVENT_MARKETPLACE_ORDER_RECEIVED: constants.MARKETPLACE_SOURCE_PREFIX}


def event_names() -> list[str]:
    return list(_DATA)


def detail_schema(detail_type: str, strict: bool = False) -> Schema:
    """The schema of ``detail`` for one event (a fresh copy: callers may change it)."""
    schema = _object({"metadata": METADATA, "data": _DATA[detail_type]})
    schema = copy.deepcopy(schema)
    schema["description"] = _DATA[detail_type]["description"]
    if strict:
        _close(schema)
    return schema


def _close(schema: Schema) -> None:
    if schema.get("type") == "object":
        schema.setdefault("additionalProperties", False)  # a declared map (e.g. compensation) stays a map
        for child in schema.get("properties", {}).values():
            _close(child)
    elif schema.get("type") == "array":
        _close(schema["items"])


def event_source(detail_type: str) -> str:
    """The source an event is published under (for a marketplace's event: the prefix of every connector's)."""
    return _SOURCES.get(detail_type, constants.EVENT_SOURCE)


def _source_schema(detail_type: str) -> Schema:
    source = event_source(detail_type)
    if source.endswith("."):  # one source per connector: the prefix and its name
        return {"type": "string", "pattern": "^" + source.replace(".", "\\.") + "[a-z][a-z0-9_]*$"}
    return {"type": "string", "enum": [source]}


def registry_schema(detail_type: str, source: str | None = None) -> Schema:
    """The whole EventBridge event, as published to the Schema Registry for code bindings."""
    source = source or event_source(detail_type).rstrip(".")
    return {
        "$schema": DRAFT4,
        "title": detail_type,
        "description": _DATA[detail_type]["description"],
        "x-amazon-events-source": source,
        "x-amazon-events-detail-type": detail_type,
        "type": "object",
        "required": ["detail-type", "source", "detail"],
        "properties": {
            "version": {"type": "string"},
            "id": {"type": "string"},
            "detail-type": {"type": "string", "enum": [detail_type]},
            "source": _source_schema(detail_type),
            "account": {"type": "string"},
            "time": {"type": "string", "format": "date-time"},
            "region": {"type": "string"},
            "resources": {"type": "array", "items": {"type": "string"}},
            "detail": detail_schema(detail_type),
        },
    }


def schema_name(detail_type: str, source: str | None = None) -> str:
    """Registry name, following EventBridge's own convention for discovered schemas."""
    return f"{source or event_source(detail_type).rstrip('.')}@{detail_type}"
