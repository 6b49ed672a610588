"""Who may publish what on the order bus (issue 11, finding 2): the bus policy and the publishers' identity
policies, as synthesized, evaluated the way IAM does for PutEvents.

- Same account: the identity policy must allow, and no Deny (of either policy) may match. The bus's
  ``PublishFromThisAccount`` alone grants nothing to a role; only an explicit Deny stops a role whose identity
  policy allows PutEvents, so the shop's sources are denied to every role but their publishers'.
- Another account: the bus policy must allow it, and no Deny may match.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from typing import Any

import pytest

from lambdas.marketplaces.registry import REGISTRY as CONNECTORS
from lambdas.marketplaces.registry import by_name
from lambdas.shared import constants
from tests.synth import Synthesized, synthesize

THIS_ACCOUNT = "AWS::AccountId"
PARTNER = "111122223333"  # eventBusAllowedAccounts
EBUY_ACCOUNT = "210987654321"  # marketplaceAccounts: ebuy's connector runs there
SHOP = constants.EVENT_SOURCE
EBUY = by_name("ebuy").source  # type: ignore[union-attr]
CITY_STORE = by_name("city_store").source  # type: ignore[union-attr]
A_PARTNERS_SOURCE = constants.MARKETPLACE_SOURCE_PREFIX + "acme"
MARKETPLACE_ORDER = constants.EVENT_MARKETPLACE_ORDER_RECEIVED
COMPLETED = constants.EVENT_ORDER_COMPLETED
# An operator's or any other role of the account whose identity policy allows PutEvents on every bus.
ANY_ROLE = "SomeAdminRole"
ALLOW_ALL = [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": "*"}]

# Roles of the stack (logical id prefix) -> the sources they publish: a reviewer reads who speaks for whom here.
PUBLISHERS: dict[str, set[str]] = {
    "WorkflowStateMachineRole": {SHOP},  # OrderCompleted, OrderFailed
    "WorkflowWaitForPaymentReviewFunctionServiceRole": {SHOP},  # PaymentReviewRequested
    "SubscribersInventoryFunctionServiceRole": {SHOP},  # ReorderSuggested
    "SubscribersLogisticsFunctionServiceRole": {SHOP},  # ShipmentAssigned
    "SweeperFunctionServiceRole": {SHOP},  # OrderFailed the workflow could not publish
    **{f"Marketplaces{c.name.title().replace('_', '')}ServiceRole": {c.source} for c in CONNECTORS},
}


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    context = {"eventBusAllowedAccounts": [PARTNER], "marketplaceAccounts": {"ebuy": EBUY_ACCOUNT}}
    return synthesize(tmp_path_factory.mktemp("publishers"), context)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Request:
    """One PutEvents entry: by a role of this account (its logical id), or by another account."""

    source: str
    detail_type: str
    role: str | None = None
    account: str = THIS_ACCOUNT

    def context(self) -> dict[str, Any]:
        arn = {"Fn::GetAtt": [self.role, "Arn"]} if self.role else f"arn:aws:iam::{self.account}:role/Connector"
        return {
            "events:source": self.source,
            "events:detail-type": self.detail_type,
            "aws:principalarn": arn,
            "aws:principalaccount": self.account,
        }


def _matches(condition: dict[str, Any], context: dict[str, Any]) -> bool:
    for operator, tests in condition.items():
        for key, values in tests.items():
            actual, values = context[key.lower()], as_list(values)
            if operator in ("StringEquals", "ArnEquals"):
                ok = actual in values
            elif operator == "StringLike":
                ok = any(fnmatch.fnmatchcase(actual, v) for v in values)
            elif operator in ("StringNotEquals", "ArnNotEquals"):
                ok = actual not in values
            else:
                raise AssertionError(f"operator {operator} is not modelled here: extend _matches")
            if not ok:
                return False
    return True


def _names(principal: Any, request: Request) -> bool:
    if principal in ("*", {"AWS": "*"}):
        return True
    text = json.dumps(principal)
    return request.role is None and request.account in text and ":root" in text


def bus_statements(synthesized: Synthesized) -> list[dict[str, Any]]:
    return [p["Properties"]["Statement"] for p in synthesized.resources("AWS::Events::EventBusPolicy").values()]


def identity_statements(synthesized: Synthesized, role: str) -> list[dict[str, Any]]:
    if role == ANY_ROLE:
        return ALLOW_ALL
    return [
        s
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for s in as_list(policy["Properties"]["PolicyDocument"]["Statement"])
    ]


def may_publish(synthesized: Synthesized, request: Request) -> bool:
    context = request.context()

    def applies(statement: dict[str, Any], resource_policy: bool) -> bool:
        return (
            "events:PutEvents" in as_list(statement["Action"])
            and (not resource_policy or _names(statement["Principal"], request))
            and _matches(statement.get("Condition", {}), context)
        )

    bus = bus_statements(synthesized)
    identity = identity_statements(synthesized, request.role) if request.role else []
    if any(s["Effect"] == "Deny" and applies(s, True) for s in bus):
        return False
    if request.role:  # this account: the identity policy decides (the bus's own-account Allow names no role)
        return any(s.get("Effect", "Allow") == "Allow" and applies(s, False) for s in identity)
    return any(s["Effect"] == "Allow" and applies(s, True) for s in bus)


def role_of(synthesized: Synthesized, prefix: str) -> str:
    (role,) = [r for r in synthesized.resources("AWS::IAM::Role") if r.startswith(prefix)]
    return role


def publishing_roles(synthesized: Synthesized) -> set[str]:
    return {
        role["Ref"]
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        for s in as_list(policy["Properties"]["PolicyDocument"]["Statement"])
        if "events:PutEvents" in as_list(s["Action"])
        for role in policy["Properties"]["Roles"]
    }


def test_every_publisher_is_listed_and_names_its_source(synthesized: Synthesized) -> None:
    roles = publishing_roles(synthesized)
    assert {next((p for p in PUBLISHERS if r.startswith(p)), r) for r in roles} == set(PUBLISHERS)
    for role in roles:
        puts = [s for s in identity_statements(synthesized, role) if "events:PutEvents" in as_list(s["Action"])]
        assert puts and all(s["Condition"]["StringEquals"]["events:source"] for s in puts), role


@pytest.mark.parametrize("prefix", PUBLISHERS)
def test_each_publisher_may_publish_its_own_source_only(synthesized: Synthesized, prefix: str) -> None:
    role = role_of(synthesized, prefix)
    for source in (SHOP, EBUY, CITY_STORE, A_PARTNERS_SOURCE, "com.example.marketing"):
        detail_type = MARKETPLACE_ORDER if source.startswith(constants.MARKETPLACE_SOURCE_PREFIX) else COMPLETED
        allowed = may_publish(synthesized, Request(source, detail_type, role=role))
        assert allowed == (source in PUBLISHERS[prefix]), (source, allowed)


def test_no_other_role_of_the_account_speaks_for_the_shop(synthesized: Synthesized) -> None:
    # Finding 2: a role allowed PutEvents by its identity policy forged OrderCompleted. The bus's Deny stops it.
    for source in (SHOP, EBUY, CITY_STORE):
        assert not may_publish(synthesized, Request(source, COMPLETED, role=ANY_ROLE)), source
    # The bus is still the account's: its other sources are the identity policies' business.
    assert may_publish(synthesized, Request("com.example.marketing", "CampaignStarted", role=ANY_ROLE))
    # Not even a role of ours that publishes something else (a connector) publishes the shop's events.
    connector = role_of(synthesized, "MarketplacesEbuyServiceRole")
    assert not may_publish(synthesized, Request(SHOP, COMPLETED, role=connector))


def test_other_accounts_are_refused_by_default(synthesized: Synthesized) -> None:
    for source, detail_type in ((SHOP, COMPLETED), (A_PARTNERS_SOURCE, MARKETPLACE_ORDER)):
        assert not may_publish(synthesized, Request(source, detail_type, account=PARTNER))


def test_allowed_accounts_report_marketplace_orders_and_nothing_else(configured: Synthesized) -> None:
    def partner(source: str, detail_type: str) -> bool:
        return may_publish(configured, Request(source, detail_type, account=PARTNER))

    assert partner(A_PARTNERS_SOURCE, MARKETPLACE_ORDER)
    assert not partner(A_PARTNERS_SOURCE, COMPLETED)
    assert not partner(SHOP, COMPLETED) and not partner(SHOP, MARKETPLACE_ORDER)
    assert not partner(EBUY, MARKETPLACE_ORDER)  # our own connectors' sources are theirs
    assert not partner("com.example.marketing", MARKETPLACE_ORDER)


def test_a_connectors_account_publishes_under_its_source_only(configured: Synthesized) -> None:
    def ebuy(source: str, detail_type: str) -> bool:
        return may_publish(configured, Request(source, detail_type, account=EBUY_ACCOUNT))

    assert ebuy(EBUY, MARKETPLACE_ORDER)
    assert not ebuy(EBUY, COMPLETED)
    assert not ebuy(CITY_STORE, MARKETPLACE_ORDER) and not ebuy(SHOP, COMPLETED)
    # The configured accounts change nothing for this account's roles.
    assert not may_publish(configured, Request(SHOP, COMPLETED, role=ANY_ROLE))
    workflow = role_of(configured, "WorkflowStateMachineRole")
    assert may_publish(configured, Request(SHOP, COMPLETED, role=workflow))
