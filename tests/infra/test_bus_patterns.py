"""Every rule's pattern, as synthesized, against sample events: what must and must not reach each
subscriber. Matching is moto's EventBridge matcher (its test_event_pattern API returns {})."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from moto.events.models import EventPattern

from infra.subscribers import REGISTRY
from lambdas.shared import constants
from tests.contract import samples
from tests.infra.bus_support import rules_by_subscriber
from tests.synth import Synthesized

COMPLETED, FAILED = constants.EVENT_ORDER_COMPLETED, constants.EVENT_ORDER_FAILED
REVIEW, REORDER = constants.EVENT_PAYMENT_REVIEW_REQUESTED, constants.EVENT_REORDER_SUGGESTED
SHIPMENT, MARKETPLACE = constants.EVENT_SHIPMENT_ASSIGNED, constants.EVENT_MARKETPLACE_ORDER_RECEIVED

# Which of our events each subscriber must receive; every other sample must not reach it.
EXPECTED: dict[str, set[str]] = {
    "inventory": {COMPLETED},  # never its own ReorderSuggested: no loop
    "analytics": {COMPLETED},
    "audit": {COMPLETED, FAILED, REVIEW, REORDER, SHIPMENT},
    "notifications": {COMPLETED, SHIPMENT},  # the tracking e-mail: a reaction to logistics' reaction
    "failure_stats": {FAILED},
    "marketplace_intake": {MARKETPLACE},  # any connector's source, never ours
    "logistics": {COMPLETED},  # shipped orders only (see below)
}


def _variant(detail_type: str, **changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(samples.every_event()[detail_type])
    for key, value in changes.items():
        if key == "version":
            event["detail"]["metadata"]["eventVersion"] = value
        else:
            event[key] = value
    return event


def sample_events() -> dict[str, tuple[dict[str, Any], set[str]]]:
    """name -> (event, subscribers that must receive it)."""
    ours = {
        name: (event, {s for s, wanted in EXPECTED.items() if name in wanted})
        for name, event in samples.every_event().items()
    }
    audit = {"audit"}
    return {
        **ours,
        # A future breaking version must not reach v1 consumers (audit records whatever we publish).
        "OrderCompleted v2": (_variant(COMPLETED, version="2"), audit),
        # Somebody else's event, even with our detail-type, is not an order.
        "OrderCompleted from another source": (_variant(COMPLETED, source="com.example.marketing"), set()),
        "a prefix of our source": (_variant(COMPLETED, source=constants.EVENT_SOURCE + ".fake"), set()),
        "an unknown detail-type of ours": (_variant(COMPLETED, **{"detail-type": "OrderShipped"}), audit),
        # A store sale handed over has no parcel: every OrderCompleted subscriber but logistics.
        "OrderCompleted handed over": (
            _handed_over(),
            {s for s, wanted in EXPECTED.items() if COMPLETED in wanted} - {"logistics"},
        ),
        # MarketplaceOrderReceived under our source is nobody's order (a connector publishes under its own).
        "MarketplaceOrderReceived under our source": (_variant(MARKETPLACE, source=constants.EVENT_SOURCE), audit),
        "MarketplaceOrderReceived from another connector": (
            _variant(MARKETPLACE, source=constants.MARKETPLACE_SOURCE_PREFIX + "city_store"),
            {"marketplace_intake"},
        ),
    }


def _handed_over() -> dict[str, Any]:
    event = _variant(COMPLETED)
    event["detail"]["data"]["fulfilment"] = constants.FULFILMENT_HANDED_OVER
    return event


@pytest.fixture(scope="module")
def patterns(synthesized: Synthesized) -> dict[str, EventPattern]:
    rules = rules_by_subscriber(synthesized)
    return {name: EventPattern.load(json.dumps(rule["EventPattern"])) for name, rule in rules.items()}


def test_every_subscriber_has_a_rule_and_expectations(patterns: dict[str, EventPattern]) -> None:
    assert set(patterns) == {spec.name for spec in REGISTRY} == set(EXPECTED)


@pytest.mark.parametrize("sample", list(sample_events()))
@pytest.mark.parametrize("subscriber", sorted(EXPECTED))
def test_the_rule_matches_exactly_the_events_meant_for_it(
    patterns: dict[str, EventPattern], subscriber: str, sample: str
) -> None:
    event, receivers = sample_events()[sample]
    assert patterns[subscriber].matches_event(event) == (subscriber in receivers)


def test_the_matcher_really_matches_nested_patterns() -> None:
    # Guards the tool: if moto stopped evaluating nested detail filters, every test above could pass wrongly.
    pattern = EventPattern.load(json.dumps({"detail": {"metadata": {"eventVersion": ["1"]}}}))
    assert pattern.matches_event({"detail": {"metadata": {"eventVersion": "1"}}})
    assert not pattern.matches_event({"detail": {"metadata": {"eventVersion": "2"}}})
    assert not pattern.matches_event({"detail": {}})
