"""Marketplace connectors and their subscribers in the template: each connector publishes under its own source
only, another account's connector is admitted by the bus for its own source and event only, the intake starts
orders, logistics hears shipped orders only, notifications hears ShipmentAssigned."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import StackConfig
from lambdas.marketplaces.registry import REGISTRY, by_name
from lambdas.shared import constants
from tests.infra.bus_support import actions, role_statements, rules_by_subscriber
from tests.synth import Synthesized, synthesize

MARKETPLACE_ACCOUNT = "210987654321"


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("marketplaces"), {"marketplaceAccounts": {"ebuy": MARKETPLACE_ACCOUNT}})


def _statements(synthesized: Synthesized) -> list[dict[str, Any]]:
    return [p["Properties"]["Statement"] for p in synthesized.resources("AWS::Events::EventBusPolicy").values()]


def test_another_accounts_connector_may_publish_its_own_orders_only(configured: Synthesized) -> None:
    admitting = [s for s in _statements(configured) if MARKETPLACE_ACCOUNT in str(s.get("Principal"))]
    assert len(admitting) == 1, admitting
    (statement,) = admitting
    assert statement["Effect"] == "Allow" and statement["Action"] == "events:PutEvents"
    assert statement["Condition"] == {
        "StringEquals": {
            "events:source": "com.example.marketplace.ebuy",
            "events:detail-type": constants.EVENT_MARKETPLACE_ORDER_RECEIVED,
        }
    }


def test_an_unknown_marketplace_or_account_is_refused() -> None:
    with pytest.raises(ValueError, match=r"not in lambdas/marketplaces/registry\.py"):
        StackConfig(marketplace_accounts={"shady": MARKETPLACE_ACCOUNT})
    with pytest.raises(ValueError, match="12-digit"):
        StackConfig(marketplace_accounts={"ebuy": "12"})


def test_each_connector_publishes_under_its_own_source(synthesized: Synthesized) -> None:
    functions = synthesized.resources("AWS::Lambda::Function")
    for connector in REGISTRY:
        (function,) = [f for f in functions.values() if f["Properties"]["Handler"] == connector.handler]
        puts = [s for s in role_statements(synthesized, function) if "events:PutEvents" in actions(s)]
        assert len(puts) == 1 and puts[0]["Condition"]["StringEquals"]["events:source"] == [connector.source]


def test_the_subscribers_hear_what_they_need(synthesized: Synthesized) -> None:
    rules = rules_by_subscriber(synthesized)
    intake = rules["marketplace_intake"]["EventPattern"]
    assert intake["source"] == [{"prefix": constants.MARKETPLACE_SOURCE_PREFIX}]
    assert intake["detail-type"] == [constants.EVENT_MARKETPLACE_ORDER_RECEIVED]
    assert rules["logistics"]["EventPattern"]["detail"]["data"] == {"fulfilment": [constants.FULFILMENT_SHIPPED]}
    assert constants.EVENT_SHIPMENT_ASSIGNED in rules["notifications"]["EventPattern"]["detail-type"]


def test_the_intake_may_start_orders(synthesized: Synthesized) -> None:
    functions = synthesized.resources("AWS::Lambda::Function")
    (function,) = [
        f
        for f in functions.values()
        if f["Properties"]["Handler"] == "lambdas.subscribers.marketplace_intake.handler.handler"
    ]
    granted = set().union(*(actions(s) for s in role_statements(synthesized, function)))
    assert {"states:StartExecution", "states:DescribeExecution"} <= granted
    assert constants.ENV_STATE_MACHINE_ARN in function["Properties"]["Environment"]["Variables"]
    assert by_name("ebuy") is not None
