"""The events we publish match their schemas, and the schemas carry no card or personal data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from lambdas.shared import constants, schemas
from lambdas.shared.events import envelope
from lambdas.wait_for_payment_review import logic as review
from tests.contract import samples

FORMATS = jsonschema.Draft4Validator.FORMAT_CHECKER


def assert_valid(event: dict[str, Any], strict: bool = True) -> None:
    schema = schemas.detail_schema(event["detail-type"], strict=strict)
    jsonschema.Draft4Validator(schema, format_checker=FORMATS).validate(event["detail"])


def test_every_event_name_has_exactly_one_schema() -> None:
    assert sorted(schemas.event_names()) == sorted(
        [
            constants.EVENT_ORDER_COMPLETED,
            constants.EVENT_ORDER_FAILED,
            constants.EVENT_PAYMENT_REVIEW_REQUESTED,
            constants.EVENT_REORDER_SUGGESTED,
            constants.EVENT_MARKETPLACE_ORDER_RECEIVED,
            constants.EVENT_SHIPMENT_ASSIGNED,
        ]
    )


@pytest.mark.parametrize("detail_type", schemas.event_names())
def test_schemas_are_valid_draft4(detail_type: str) -> None:
    jsonschema.Draft4Validator.check_schema(schemas.detail_schema(detail_type, strict=True))
    registry = schemas.registry_schema(detail_type)
    jsonschema.Draft4Validator.check_schema(registry)
    assert registry["$schema"] == schemas.DRAFT4
    assert registry["x-amazon-events-detail-type"] == detail_type


def test_the_workflow_order_completed_event_matches_its_schema_exactly() -> None:
    event = samples.order_completed()
    assert_valid(event)  # strict: the ASL sends no field the schema does not declare
    jsonschema.Draft4Validator(schemas.registry_schema(event["detail-type"]), format_checker=FORMATS).validate(event)


@pytest.mark.parametrize(
    ("error", "cause"),
    [(constants.ERROR_OUT_OF_STOCK, "MUG-BLUE: 2 requested"), (constants.ERROR_REVIEW_TIMED_OUT, "No decision")],
)
def test_the_workflow_order_failed_event_matches_its_schema_exactly(error: str, cause: str) -> None:
    event = samples.order_failed(error, cause)
    assert_valid(event)
    assert event["detail"]["data"]["error"] == error


def test_the_payment_review_requested_event_of_the_payments_lambda_matches_its_schema() -> None:
    published: list[tuple[Any, ...]] = []

    class Payments:
        def update(self, *args: Any) -> bool:
            return True

    request = review.ReviewRequest("ord-1001", "cust-42", "web", 250_000, "EUR", "token", 3600)
    review.request_review(request, Payments(), lambda *a: published.append(a), datetime.now(UTC))  # type: ignore[arg-type]
    ((detail_type, data, correlation_id, producer),) = published
    assert_valid(samples.lambda_event(detail_type, data, correlation_id, producer))


def test_a_leaked_card_token_fails_the_strict_schema() -> None:
    event = samples.order_completed()
    event["detail"]["data"]["payment"] = {"method": "card", "token": "tok_visa"}
    with pytest.raises(jsonschema.ValidationError, match="payment"):
        assert_valid(event)
    assert_valid(event, strict=False)  # consumers read tolerantly: additive fields never break them


def test_a_missing_or_mistyped_field_fails() -> None:
    event = samples.order_completed()
    del event["detail"]["metadata"]["correlationId"]
    with pytest.raises(jsonschema.ValidationError, match="correlationId"):
        assert_valid(event)
    event = samples.order_completed()
    event["detail"]["data"]["lines"][0]["quantity"] = "2"
    with pytest.raises(jsonschema.ValidationError):
        assert_valid(event)


def _property_names(schema: dict[str, Any]) -> set[str]:
    names = set(schema.get("properties", {}))
    for child in schema.get("properties", {}).values():
        names |= _property_names(child)
    if "items" in schema:
        names |= _property_names(schema["items"])
    return names


# The order a marketplace reports is the order itself: the intake needs where it ships. It is the one event with
# an address; no card data even there (the marketplace collected the money), and it is not archived (the archive
# keeps our sources only).
INBOUND = {constants.EVENT_MARKETPLACE_ORDER_RECEIVED}
# The customer's e-mail, only where an e-mail goes out: the confirmation, the tracking e-mail.
WITH_EMAIL = {constants.EVENT_ORDER_COMPLETED, constants.EVENT_SHIPMENT_ASSIGNED, *INBOUND}


@pytest.mark.parametrize("detail_type", schemas.event_names())
def test_no_schema_carries_card_data_or_addresses(detail_type: str) -> None:
    card = {"payment", "token", "card", "cardNumber", "cvv", "pan", "phone"}
    address = {"shippingAddress", "line1", "name"}
    forbidden = card if detail_type in INBOUND else card | address
    assert _property_names(schemas.detail_schema(detail_type)).isdisjoint(forbidden)
    assert ("email" in _property_names(schemas.detail_schema(detail_type))) == (detail_type in WITH_EMAIL)


@pytest.mark.parametrize(
    "sample", [samples.marketplace_order_received, samples.shipment_assigned], ids=lambda f: f.__name__
)
def test_the_new_events_match_their_schemas_exactly(sample: Any) -> None:
    event = sample()
    assert_valid(event)
    registry = schemas.registry_schema(event["detail-type"])
    jsonschema.Draft4Validator(registry, format_checker=FORMATS).validate(event)


def test_a_marketplace_event_under_our_own_source_fails_its_registry_schema() -> None:
    event = samples.marketplace_order_received()
    event["source"] = constants.EVENT_SOURCE
    registry = schemas.registry_schema(event["detail-type"])
    with pytest.raises(jsonschema.ValidationError, match="source"):
        jsonschema.Draft4Validator(registry, format_checker=FORMATS).validate(event)


def test_the_connector_publishes_what_the_schema_describes() -> None:
    from lambdas.marketplaces.connector import publish
    from lambdas.marketplaces.ebuy.logic import translate
    from lambdas.marketplaces.registry import by_name
    from tests.unit.test_marketplaces import EBUY_WEBHOOK

    published: list[tuple[Any, ...]] = []

    class Bus:
        def publish(self, *args: Any, **kwargs: Any) -> None:
            published.append((*args, kwargs["source"]))

    connector = by_name("ebuy")
    assert connector is not None
    publish(connector, translate(EBUY_WEBHOOK), Bus())  # type: ignore[arg-type]
    ((detail_type, data, correlation_id, producer, source),) = published
    detail = envelope(data, correlation_id, producer)
    assert_valid(samples.as_delivered(source, detail_type, detail, detail["metadata"]["occurredAt"]))


def test_web_events_without_a_channel_still_match() -> None:
    # Events published before channels existed (an archive replay) carry no channel: still valid.
    event = samples.order_completed()
    for name in ("channel", "fulfilment", "destinationCountry"):
        del event["detail"]["data"][name]
    assert_valid(event)
