"""Every registered subscriber goes through the shared entry point, so it gets the timeline, correlated logs
and the refusal of what the shop did not say for free (lambdas.subscribers.subscriber)."""

from __future__ import annotations

import importlib
import json
import re
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from infra.alarms import events_refused
from infra.config import StackConfig
from infra.subscribers import REGISTRY, trust_environment
from lambdas.shared import constants
from lambdas.subscribers import ENTRY_POINT_MARK, trust
from lambdas.subscribers.analytics import handler as analytics_handler
from lambdas.subscribers.notifications import handler as notifications_handler
from tests.conftest import lambda_context
from tests.contract import samples
from tests.unit.subscribers.conftest import all_items, deliver, record_sale


@pytest.mark.parametrize("spec", REGISTRY, ids=lambda spec: spec.name)
def test_each_subscriber_handler_is_wrapped_by_the_shared_entry_point(spec) -> None:
    module, _, function = spec.handler.rpartition(".")
    handler = getattr(importlib.import_module(module), function)
    assert getattr(handler, ENTRY_POINT_MARK, None) == spec.name, f"{spec.handler}: decorate it with @subscriber(...)"


# --- Only the shop speaks for the shop (issue 11, finding 2) -------------------------------------------------
FOREIGN_ACCOUNT = "999988887777"
PARTNER = "111122223333"


def _forged(**changes: Any) -> dict[str, Any]:
    event = samples.order_completed("o-forged", email="victim@outside.example")
    return {**event, **changes}


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (_forged(account=FOREIGN_ACCOUNT), trust.FOREIGN_ACCOUNT),
        (_forged(source="com.example.marketing"), trust.UNEXPECTED_SOURCE),
        (_forged(source=constants.MARKETPLACE_SOURCE_PREFIX + "ebuy"), trust.UNEXPECTED_SOURCE),
    ],
    ids=["foreign account", "foreign source", "a marketplace's source"],
)
def test_a_forged_event_is_refused_logged_and_counted_without_its_data(
    subscriber_table: Any,
    event: dict[str, Any],
    reason: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    record_sale("o-forged")  # even for an order that exists
    assert deliver(analytics_handler.handler, event) == {"refused": reason}
    assert all_items(subscriber_table) == []  # nothing counted, no marker, no timeline entry
    (refused,) = [r for r in caplog.records if "event refused" in r.getMessage()]
    assert (refused.levelname, getattr(refused, "reason", None)) == ("WARNING", reason)
    assert "victim@outside.example" not in json.dumps(vars(refused), default=str)
    metrics = capsys.readouterr().out
    assert '"EventsRefused":[1.0]' in metrics and '"subscriber":"analytics"' in metrics


def test_a_refusal_is_counted_where_the_events_refused_alarm_looks(
    subscriber_table: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The alarm's Metrics Insights query (infra/alarms.py) matches a metric by its name, namespace and exact set
    of dimension names: a refusal emitted under another dimension set would never reach it."""
    capsys.readouterr()
    assert deliver(analytics_handler.handler, _forged(account=FOREIGN_ACCOUNT)) == {"refused": trust.FOREIGN_ACCOUNT}
    (emitted,) = [
        json.loads(line)["_aws"]["CloudWatchMetrics"]
        for line in capsys.readouterr().out.splitlines()
        if '"EventsRefused"' in line
    ]
    (metric,) = emitted
    (dimensions,) = metric["Dimensions"]
    expression = events_refused(metric["Namespace"]).expression  # the stage's: tests/infra/test_observability.py
    query = re.fullmatch(r'SELECT SUM\((\w+)\) FROM SCHEMA\("([^"]+)", ([\w, ]+)\)', expression)
    assert query, expression  # one series (no GROUP BY): an alarm watches one
    assert query[1] == constants.METRIC_EVENTS_REFUSED in [m["Name"] for m in metric["Metrics"]]
    assert set(query[3].split(", ")) == set(dimensions)


def test_an_order_completed_of_an_order_never_sold_sends_no_email_and_counts_nothing(
    subscriber_table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(constants.ENV_NOTIFICATION_SENDER, "orders@example.com")
    event = samples.order_completed("o-never-sold", email="victim@outside.example")
    for handler in (analytics_handler.handler, notifications_handler.handler):
        assert handler(event, lambda_context("subscriber")) == {"refused": trust.UNKNOWN_ORDER}
    assert ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages == []
    assert all_items(subscriber_table) == []
    record_sale("o-never-sold")  # once the workflow has recorded the sale, the same event is the shop's
    assert deliver(analytics_handler.handler, event)["counted"] is True


def test_a_partners_marketplace_order_is_accepted_only_from_its_admitted_account(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(constants.ENV_EXPECTED_SOURCES, json.dumps([{"prefix": constants.MARKETPLACE_SOURCE_PREFIX}]))
    monkeypatch.setenv(constants.ENV_PARTNER_ACCOUNTS, json.dumps([PARTNER]))
    received = {**samples.every_event()[constants.EVENT_MARKETPLACE_ORDER_RECEIVED]}
    own, sources, partners = "123456789012", trust.expected_sources(), trust.partner_accounts()
    assert trust.refusal({**received, "account": own}, own, sources, partners) is None
    assert trust.refusal({**received, "account": PARTNER}, own, sources, partners) is None
    assert trust.refusal({**received, "account": FOREIGN_ACCOUNT}, own, sources, partners) == trust.FOREIGN_ACCOUNT
    # A partner never speaks for the shop, even to a subscriber that hears both.
    shop = {**samples.order_completed(), "account": PARTNER}
    assert trust.refusal(shop, own, [constants.EVENT_SOURCE, *sources], partners) == trust.FOREIGN_ACCOUNT


def test_without_its_stack_settings_a_subscriber_expects_the_shops_own_events(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(constants.ENV_EXPECTED_SOURCES, raising=False)
    monkeypatch.delenv(constants.ENV_PARTNER_ACCOUNTS, raising=False)
    assert trust.expected_sources() == [constants.EVENT_SOURCE] and trust.partner_accounts() == []
    monkeypatch.delenv(constants.ENV_LEDGER_TABLE, raising=False)
    with pytest.raises(RuntimeError, match=constants.ENV_LEDGER_TABLE):
        trust.sale_recorded("o-1")


@pytest.mark.parametrize("spec", REGISTRY, ids=lambda spec: spec.name)
def test_the_stack_tells_each_subscriber_what_its_rule_admits(spec: Any) -> None:
    config = StackConfig(allowed_accounts=[PARTNER])
    env = trust_environment(spec, config)
    assert json.loads(env[constants.ENV_EXPECTED_SOURCES]) == list(spec.event_pattern["source"])
    hears_marketplaces = spec.name == "marketplace_intake"
    assert (constants.ENV_PARTNER_ACCOUNTS in env) == hears_marketplaces
    if hears_marketplaces:
        assert json.loads(env[constants.ENV_PARTNER_ACCOUNTS]) == [PARTNER]
