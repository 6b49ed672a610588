"""The task registry (infra/tasks.py): one entry per ASL task function, and the synth refuses a mismatch."""

from __future__ import annotations

import dataclasses
import json

import pytest

from infra import tasks
from infra.grants import TABLE_ENV
from infra.workflow import load_definition
from lambdas.shared import constants
from tests.synth import Synthesized


def test_one_entry_per_asl_task_function_and_a_handler_for_each() -> None:
    keys = [spec.substitution for spec in tasks.TASKS]
    assert sorted(keys) == sorted(tasks.asl_task_placeholders(load_definition()))
    assert sorted(keys) == sorted(constants.TASK_FUNCTIONS)
    tasks.validate(tasks.TASKS, load_definition())


@pytest.mark.parametrize(
    ("specs", "definition", "message"),
    [
        ((tasks.VALIDATE_ORDER,), '{"a": "${ValidateOrderFunctionArn}", "b": "${PriceOrderFunctionArn}"}', "without"),
        ((tasks.VALIDATE_ORDER, tasks.PRICE_ORDER), '{"a": "${ValidateOrderFunctionArn}"}', "no ASL state"),
        ((tasks.VALIDATE_ORDER, tasks.VALIDATE_ORDER), '{"a": "${ValidateOrderFunctionArn}"}', "unique"),
        (
            (dataclasses.replace(tasks.VALIDATE_ORDER, tables={"stock": ("BatchGetItem",)}),),
            '{"a": "${ValidateOrderFunctionArn}"}',
            "unknown tables",
        ),
        (
            (dataclasses.replace(tasks.VALIDATE_ORDER, substitution="ShipFunctionArn"),),
            '"${ShipFunctionArn}"',
            "handler",
        ),
    ],
)
def test_a_mismatch_fails_the_synth(specs: tuple[tasks.TaskSpec, ...], definition: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tasks.validate(specs, definition)


def test_each_task_function_reaches_only_the_tables_its_entry_names(synthesized: Synthesized) -> None:
    tables = {
        name: next(n for n in synthesized.resources("AWS::DynamoDB::Table") if n.startswith("Tables" + name.title()))
        for name in TABLE_ENV
    }
    policies = synthesized.resources("AWS::IAM::Policy")
    for spec in tasks.TASKS:
        (policy,) = [p for n, p in policies.items() if n.startswith(f"Workflow{spec.construct_id}ServiceRole")]
        text = json.dumps(policy["Properties"]["PolicyDocument"])
        reached = {name for name, logical_id in tables.items() if logical_id in text}
        assert reached == set(spec.tables), spec.state
