"""Reading the bus and the subscribers out of the synthesized template."""

from __future__ import annotations

from typing import Any

from infra.subscribers import REGISTRY, SubscriberSpec
from tests.synth import Synthesized


def rules_by_subscriber(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    """{subscriber name: its AWS::Events::Rule properties}, found through the target's handler."""
    return {name: rule for name, (_, rule) in rule_ids_by_subscriber(synthesized).items()}


def rule_ids_by_subscriber(synthesized: Synthesized) -> dict[str, tuple[str, dict[str, Any]]]:
    """{subscriber name: (rule logical id, rule properties)}; other rules of the stack are left out."""
    functions = synthesized.resources("AWS::Lambda::Function")
    # A buffered subscriber's rule targets its queue, which an event source mapping feeds to the function.
    fed_by_queue = {
        m["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]: functions[m["Properties"]["FunctionName"]["Ref"]]
        for m in synthesized.resources("AWS::Lambda::EventSourceMapping").values()
    }
    by_handler = {spec.handler: spec.name for spec in REGISTRY}
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for rule_id, rule in synthesized.resources("AWS::Events::Rule").items():
        for target in rule["Properties"]["Targets"]:
            target_id = target["Arn"]["Fn::GetAtt"][0] if "Fn::GetAtt" in target["Arn"] else None
            function = functions.get(target_id) or fed_by_queue.get(target_id) if target_id else None
            if function and function["Properties"]["Handler"] in by_handler:
                name = by_handler[function["Properties"]["Handler"]]
                assert name not in found, f"{name} has more than one rule"
                found[name] = (rule_id, rule["Properties"])
    return found


def function_of(synthesized: Synthesized, spec: SubscriberSpec) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (name, f)
        for name, f in synthesized.resources("AWS::Lambda::Function").items()
        if f["Properties"]["Handler"] == spec.handler
    ]
    return found


def role_statements(synthesized: Synthesized, function: dict[str, Any]) -> list[dict[str, Any]]:
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return set(action) if isinstance(action, list) else {action}
