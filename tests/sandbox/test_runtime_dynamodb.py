"""Concurrent invocations in the sandbox share each function's cached DynamoDB Table (one import serves every
container) but not the placeholders boto3 numbers their conditions with, as separate containers would not."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key

from tests.sandbox.test_runtime_metrics import runtime


def _build(injector: Any, condition: Any) -> Any:
    """One expression, as a Table call builds each of its conditions: with the injector's builder."""
    return injector._condition_builder.build_expression(condition, is_key_condition=True)


def test_another_invocations_condition_does_not_renumber_this_ones_placeholders() -> None:
    table = boto3.resource("dynamodb", region_name="eu-west-1").Table("t")
    injector = table._injector  # the one every call of this Table goes through
    first_built, other_done = threading.Event(), threading.Event()
    built: list[Any] = []

    def this_invocation() -> None:
        injector._condition_builder.reset()  # what each Table call does first
        built.append(_build(injector, Key("pk").eq("ORDER#1")))
        first_built.set()
        other_done.wait(5)
        built.append(_build(injector, Key("sk").begins_with("HOLD#")))  # same call, next condition

    def other_invocation() -> None:
        first_built.wait(5)
        injector._condition_builder.reset()  # another call of the same Table starts
        other_done.set()

    with runtime():
        threads = [threading.Thread(target=this_invocation), threading.Thread(target=other_invocation)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    first, second = built
    # One call's placeholders stay distinct: #n0 -> pk, #n1 -> sk (a reset by the other would make both #n0).
    assert set(first.attribute_name_placeholders) | set(second.attribute_name_placeholders) == {"#n0", "#n1"}
