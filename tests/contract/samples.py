"""Sample events exactly as consumers receive them.

Workflow events (OrderCompleted, OrderFailed) are built by evaluating the ASL's own putEvents
Parameters against a sample execution state, so the tests check what the workflow really sends.
Lambda-published events are built with the shared envelope, as the Lambdas build them.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from pathlib import Path
from typing import Any

from infra import names
from lambdas.shared import constants
from lambdas.shared.events import envelope

# Read directly (not through infra.workflow) so unit tests need not load the CDK.
ASL = Path(__file__).resolve().parents[2] / names.ASL_FILE
ACCOUNT = "123456789012"
REGION = "eu-west-1"
EXECUTION_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:OrderWorkflow:ord-1001"
# The ASL placeholders that are not function ARNs, as the stack fills them.
SUBSTITUTIONS = {
    names.SUB_EVENT_BUS_NAME: "order-bus",
    names.SUB_EVENT_SOURCE: constants.EVENT_SOURCE,
    names.SUB_EVENT_VERSION: constants.EVENT_VERSION,
    names.SUB_PRODUCER: constants.WORKFLOW_PRODUCER,
    names.SUB_ORDER_COMPLETED: constants.EVENT_ORDER_COMPLETED,
    names.SUB_ORDER_FAILED: constants.EVENT_ORDER_FAILED,
}

# The execution state when PublishOrderCompleted runs (docs/CONTRACTS.md: task outputs by ResultPath).
COMPLETED_STATE: dict[str, Any] = {
    "order": {
        "orderId": "ord-1001",
        "customer": {"id": "cust-42", "email": "ada@example.com"},
        "items": [{"sku": "MUG-BLUE", "quantity": 2}, {"sku": "TEE-M", "quantity": 1}],
        "shippingAddress": {
            "name": "Ada Lovelace",
            "line1": "1 Main St",
            "city": "Berlin",
            "postalCode": "10115",
            "country": "DE",
        },
        "currency": "EUR",
        "displayedTotal": 53.42,
        "payment": {"method": "card", "token": "tok_visa"},
        "siteVariant": "checkout-v2",
        "channel": "web",
        "fulfilment": "shipped",
    },
    "reservation": {"warehouseId": "WH-EU-1", "queueUrl": "https://sqs.eu-west-1.amazonaws.com/1/wh.fifo"},
    "pricing": {
        "lines": [
            {"sku": "MUG-BLUE", "quantity": 2, "unitPriceCents": 1002, "lineTotalCents": 2004},
            {"sku": "TEE-M", "quantity": 1, "unitPriceCents": 1990, "lineTotalCents": 1990},
        ],
        "subtotalCents": 3994,
        "taxCents": 853,
        "shippingCents": 495,
        "totalCents": 5342,
        "currency": "EUR",
    },
    "payment": {"status": "APPROVED", "chargeId": "ch_1", "reviewTimeoutSeconds": 259200, "reviewTimeout": "72 h"},
    "accounting": {"transactionId": "txn_1"},
}


def _path(document: Any, path: str) -> Any:
    """The dotted JSONPath subset the ASL's putEvents states use ($.a.b / $$.A.B)."""
    if not re.fullmatch(r"\$\$?(\.[A-Za-z_][A-Za-z0-9_]*)+", path):
        raise ValueError(f"unsupported path {path!r}: extend tests/contract/samples.py")
    for part in path.lstrip("$").strip(".").split("."):
        document = document[part]
    return document


def _evaluate(parameters: Any, state: Any, context: Any) -> Any:
    if isinstance(parameters, dict):
        result = {}
        for key, value in parameters.items():
            if key.endswith(".$"):
                source = context if value.startswith("$$") else state
                result[key[:-2]] = copy.deepcopy(_path(source, value))
            else:
                result[key] = _evaluate(value, state, context)
        return result
    if isinstance(parameters, list):
        return [_evaluate(v, state, context) for v in parameters]
    return parameters


def workflow_event(state_name: str, state: dict[str, Any], entered_time: str = "2026-11-20T10:15:30.123Z") -> dict:
    """The EventBridge event the ASL state ``state_name`` puts, as a rule target receives it."""
    text = ASL.read_text(encoding="utf-8")
    for key, value in SUBSTITUTIONS.items():
        text = text.replace("${" + key + "}", value)
    definition = json.loads(text)
    (entry,) = definition["States"][state_name]["Parameters"]["Entries"]
    context = {"State": {"EnteredTime": entered_time}, "Execution": {"Id": EXECUTION_ARN}}
    built = _evaluate(entry, state, context)
    return as_delivered(built["Source"], built["DetailType"], built["Detail"], entered_time)


def as_delivered(source: str, detail_type: str, detail: dict[str, Any], time: str) -> dict[str, Any]:
    """The envelope EventBridge wraps around an entry (a fresh id, as every delivery of a replay has)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": time[:19] + "Z",
        "region": REGION,
        "resources": [],
        "detail": detail,
    }


def order_completed(
    order_id: str = "ord-1001",
    lines: list[dict[str, Any]] | None = None,
    site_variant: str = "checkout-v2",
    warehouse_id: str = "WH-EU-1",
    occurred_at: str = "2026-11-20T10:15:30.123Z",
    email: str = "ada@example.com",
) -> dict[str, Any]:
    """OrderCompleted as the workflow publishes it, for one order; lines are (sku, quantity, unit price)."""
    state = copy.deepcopy(COMPLETED_STATE)
    state["order"].update({"orderId": order_id, "siteVariant": site_variant})
    state["order"]["customer"]["email"] = email
    state["reservation"]["warehouseId"] = warehouse_id
    if lines is not None:
        state["pricing"]["lines"] = lines
        subtotal = sum(line["lineTotalCents"] for line in lines)
        state["pricing"].update({"subtotalCents": subtotal, "taxCents": 0, "shippingCents": 0, "totalCents": subtotal})
    return workflow_event("PublishOrderCompleted", state, occurred_at)


def line(sku: str, quantity: int, unit_price_cents: int = 1000) -> dict[str, Any]:
    total = quantity * unit_price_cents
    return {"sku": sku, "quantity": quantity, "unitPriceCents": unit_price_cents, "lineTotalCents": total}


def order_failed(error: str = constants.ERROR_OUT_OF_STOCK, cause: str = "MUG-BLUE: 2 requested, 0 available") -> dict:
    state = copy.deepcopy(COMPLETED_STATE)
    state["failure"] = {"Error": error, "Cause": cause}
    state["compensation"] = {"releaseStock": {"releasedLines": 0}}
    return workflow_event("PublishOrderFailed", state)


def lambda_event(detail_type: str, data: dict[str, Any], correlation_id: str, producer: str) -> dict[str, Any]:
    """An event a Lambda publishes through lambdas.shared.adapters.event_bus."""
    detail = envelope(data, correlation_id, producer, occurred_at="2026-11-20T10:16:00.000Z")
    return as_delivered(constants.EVENT_SOURCE, detail_type, detail, detail["metadata"]["occurredAt"])


def payment_review_requested() -> dict[str, Any]:
    data = {
        "orderId": "ord-1001",
        "customerId": "cust-42",
        "channel": "web",
        "amountCents": 250_000,
        "currency": "EUR",
        "reviewDeadline": "2026-11-23T10:16:00.000Z",
    }
    return lambda_event(constants.EVENT_PAYMENT_REVIEW_REQUESTED, data, "ord-1001", "payments")


def reorder_suggested() -> dict[str, Any]:
    data = {
        "suggestionId": "MUG-BLUE:WH-EU-1:2026-11-20",
        "sku": "MUG-BLUE",
        "warehouseId": "WH-EU-1",
        "available": 3,
        "dailyVelocity": 1.5,
        "coverDays": 2.0,
        "leadTimeDays": 14,
        "suggestedQuantity": 63,
    }
    return lambda_event(constants.EVENT_REORDER_SUGGESTED, data, "ord-1001", constants.INVENTORY_PRODUCER)


def marketplace_order_received(marketplace: str = "ebuy", their_order_id: str = "EB-1001") -> dict[str, Any]:
    """MarketplaceOrderReceived as a connector publishes it (lambdas/marketplaces/connector.py), under its source."""
    data = {
        "marketplace": marketplace,
        "marketplaceOrderId": their_order_id,
        "customer": {"id": f"{marketplace}:u77", "email": "ada@example.com"},
        "items": [{"sku": "MUG-BLUE", "quantity": 2}],
        "fulfilment": "shipped",
        "shippingAddress": copy.deepcopy(COMPLETED_STATE["order"]["shippingAddress"]),
        "totalCents": 2379,
        "currency": "EUR",
        "paymentReference": "EBPAY-77",
    }
    order_id = f"{marketplace}-{their_order_id}"
    detail = envelope(data, order_id, f"marketplace:{marketplace}", occurred_at="2026-11-20T10:14:00.000Z")
    source = constants.MARKETPLACE_SOURCE_PREFIX + marketplace
    return as_delivered(source, constants.EVENT_MARKETPLACE_ORDER_RECEIVED, detail, detail["metadata"]["occurredAt"])


def shipment_assigned() -> dict[str, Any]:
    data = {
        "orderId": "ord-1001",
        "customer": {"id": "cust-42", "email": "ada@example.com"},
        "channel": "web",
        "warehouseId": "WH-EU-1",
        "destinationCountry": "DE",
        "carrier": "DHL",
        "bookingReference": "ord-1001",
        "trackingNumber": "DHL00012345678",
        "parcelWeightGrams": 1150,
        "promisedDate": "2026-11-24",
    }
    return lambda_event(constants.EVENT_SHIPMENT_ASSIGNED, data, "ord-1001", constants.LOGISTICS_PRODUCER)


def every_event() -> dict[str, dict[str, Any]]:
    """One sample of each event we publish, by detail-type."""
    return {
        constants.EVENT_ORDER_COMPLETED: order_completed(),
        constants.EVENT_ORDER_FAILED: order_failed(),
        constants.EVENT_PAYMENT_REVIEW_REQUESTED: payment_review_requested(),
        constants.EVENT_REORDER_SUGGESTED: reorder_suggested(),
        constants.EVENT_MARKETPLACE_ORDER_RECEIVED: marketplace_order_received(),
        constants.EVENT_SHIPMENT_ASSIGNED: shipment_assigned(),
    }
