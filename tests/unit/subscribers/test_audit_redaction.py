"""Audit redaction: every personal field an event carries is stored redacted, by the declared list
(constants.PERSONAL_DATA_KEYS), and every field of every event schema is classified."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from lambdas.shared import constants, schemas
from lambdas.subscribers.audit.logic import REDACTED, new_record, redact
from tests.contract import samples

# Fields that name or locate nobody: kept in the audit record as published.
IMPERSONAL = {
    "metadata", "eventVersion", "correlationId", "occurredAt", "producer", "executionArn",
    "data", "orderId", "customer", "id", "customerId", "siteVariant", "warehouseId", "lines", "sku", "quantity",
    "unitPriceCents", "lineTotalCents", "subtotalCents", "taxCents", "shippingCents", "totalCents", "currency",
    "channel", "fulfilment", "destinationCountry", "error", "cause", "compensation", "amountCents",
    "reviewDeadline", "suggestionId", "available", "dailyVelocity", "coverDays", "leadTimeDays",
    "suggestedQuantity", "marketplace", "marketplaceOrderId", "items", "shippingAddress", "country",
    "paymentReference", "carrier", "bookingReference", "trackingNumber", "parcelWeightGrams", "promisedDate",
}  # fmt: skip


def fields(schema: dict[str, Any]) -> Iterator[str]:
    for name, child in schema.get("properties", {}).items():
        yield name
        yield from fields(child)
    if "items" in schema:
        yield from fields(schema["items"])


@pytest.mark.parametrize("detail_type", schemas.event_names())
def test_every_field_of_every_event_is_classified(detail_type: str) -> None:
    unclassified = set(fields(schemas.detail_schema(detail_type))) - IMPERSONAL - set(constants.PERSONAL_DATA_KEYS)
    assert not unclassified, f"{detail_type}: add {sorted(unclassified)} to PERSONAL_DATA_KEYS or IMPERSONAL"
    assert not IMPERSONAL & set(constants.PERSONAL_DATA_KEYS)


def personal_values(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, child in value.items():
            if key in constants.PERSONAL_DATA_KEYS and isinstance(child, str):
                yield child
            else:
                yield from personal_values(child)
    elif isinstance(value, list):
        for child in value:
            yield from personal_values(child)


def with_reviewer(event: dict[str, Any]) -> dict[str, Any]:
    """A sample that also carries a reviewer's identity and note (as a decision's event would)."""
    event["detail"]["data"].update({"reviewer": "rita@example.com", "note": "called Ada on +49 30 1234567"})
    return event


@pytest.mark.parametrize("detail_type", schemas.event_names())
def test_no_personal_value_of_any_sample_reaches_the_record(detail_type: str) -> None:
    event = with_reviewer(samples.every_event()[detail_type])
    personal = list(personal_values(event["detail"]))
    assert "rita@example.com" in personal
    record = new_record(1, "0" * 64, event, "key", "2026-11-20T10:16:00.000Z")
    stored = json.dumps(record, ensure_ascii=False)
    assert [value for value in personal if value in stored] == []
    assert json.loads(record["detail"])["data"]["reviewer"] == REDACTED


def test_an_address_keeps_only_its_country() -> None:
    address = samples.marketplace_order_received()["detail"]["data"]["shippingAddress"]
    redacted = redact(address)
    assert redacted["country"] == address["country"]
    assert {key: value for key, value in redacted.items() if key != "country"} == dict.fromkeys(
        set(address) - {"country"}, REDACTED
    )
