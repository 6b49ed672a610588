"""The plug-in model: a subscriber is a folder plus a registry entry, and the workflow never changes."""

from __future__ import annotations

import importlib
from dataclasses import replace
from pathlib import Path

import pytest

from infra import subscribers
from infra.subscribers import REGISTRY, SubscriberSpec, order_events, validate
from tests.synth import Synthesized, synthesize

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("spec", REGISTRY, ids=lambda s: s.name)
def test_each_entry_is_a_folder_with_a_handler(spec: SubscriberSpec) -> None:
    folder = REPO / "lambdas" / "subscribers" / spec.name
    assert (folder / "handler.py").is_file() and (folder / "logic.py").is_file()
    module, _, attribute = spec.handler.rpartition(".")
    assert callable(getattr(importlib.import_module(module), attribute))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "Bad-Name"}, "snake_case"),
        ({"event_pattern": {}}, "every event"),
        ({"tables": {"orders": ("BatchGetItem",)}}, "unknown tables"),
    ],
)
def test_registry_mistakes_fail_the_synth(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate([replace(REGISTRY[0], **change)])


def test_names_must_be_unique() -> None:
    with pytest.raises(ValueError, match="unique"):
        validate([REGISTRY[0], REGISTRY[0]])


def _state_machine(synthesized: Synthesized) -> dict:
    return synthesized.one("AWS::StepFunctions::StateMachine")["Properties"]


def test_adding_a_subscriber_adds_its_rule_and_leaves_the_workflow_alone(
    synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = SubscriberSpec(
        name="extra_listener",
        handler="lambdas.subscribers.audit.handler.handler",  # any real handler will do for the template
        event_pattern=order_events("OrderFailed"),
        description="Extra: proves one registry entry is all it takes",
    )
    monkeypatch.setattr(subscribers, "REGISTRY", [*REGISTRY, extra])
    extended = synthesize(tmp_path_factory.mktemp("extended"))  # cdk-nag runs: its findings would fail this

    assert _state_machine(extended) == _state_machine(synthesized)
    assert len(extended.resources("AWS::Events::Rule")) == len(synthesized.resources("AWS::Events::Rule")) + 1
    rules = extended.resources("AWS::Events::Rule").items()
    (rule,) = [r for n, r in rules if n.startswith("SubscribersExtraListener")]
    assert rule["Properties"]["EventPattern"] == extra.event_pattern
    assert "DeadLetterConfig" in rule["Properties"]["Targets"][0]
