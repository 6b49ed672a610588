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
            "customer": _object(
                {
                    "id": _string("Customer id"),
                    "email": _string("Where the order confirmation goes", format="email"),
                }
            ),
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
        },
        description="The order is paid, booked and on its way to the warehouse.",
    ),
    constants.EVENT_ORDER_FAILED: _object(
        {
            "orderId": ORDER_ID,
            "customerId": _string("Customer id"),
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
            "amountCents": _cents("Amount awaiting review"),
            "currency": CURRENCY,
            "reviewDeadline": _string("The order fails if no decision arrives by then", format="date-time"),
        },
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
}


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


def registry_schema(detail_type: str, source: str = constants.EVENT_SOURCE) -> Schema:
    """The whole EventBridge event, as published to the Schema Registry for code bindings."""
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
            "source": {"type": "string", "enum": [source]},
            "account": {"type": "string"},
            "time": {"type": "string", "format": "date-time"},
            "region": {"type": "string"},
            "resources": {"type": "array", "items": {"type": "string"}},
            "detail": detail_schema(detail_type),
        },
    }


def schema_name(detail_type: str, source: str = constants.EVENT_SOURCE) -> str:
    """Registry name, following EventBridge's own convention for discovered schemas."""
    return f"{source}@{detail_type}"
