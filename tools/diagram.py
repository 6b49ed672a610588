"""The architecture diagram in docs/WORKFLOW.md, generated from the ASL and the subscriber registry.

    python -m tools.diagram           rewrite the block between <!-- DIAGRAM --> and <!-- DIAGRAM:END -->
    python -m tools.diagram --check   exit 1 when the README's block is out of date (tests do this too)

Nothing in the diagram is typed by hand: states, transitions, catches and published events come
from statemachines/order_workflow.asl.json, subscribers and what they listen to from
infra/subscribers.py's REGISTRY. Change either and regenerate.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from infra import names
from lambdas.shared import constants

REPO_ROOT = Path(__file__).resolve().parent.parent
README = REPO_ROOT / "docs" / "WORKFLOW.md"  # the document that holds the diagram block
ASL = REPO_ROOT / names.ASL_FILE
BEGIN, END = "<!-- DIAGRAM -->", "<!-- DIAGRAM:END -->"
BUS = "OrderBus"
# The ASL's event names are placeholders the stack substitutes (infra/workflow.py).
DETAIL_TYPES = {
    names.SUB_ORDER_COMPLETED: constants.EVENT_ORDER_COMPLETED,
    names.SUB_ORDER_FAILED: constants.EVENT_ORDER_FAILED,
}
_PLACEHOLDER = re.compile(r"^\$\{(\w+)\}$")


def load_asl(path: Path = ASL) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _placeholder(value: object) -> str | None:
    match = _PLACEHOLDER.match(value) if isinstance(value, str) else None
    return match[1] if match else None


def _catch_label(errors: Sequence[str]) -> str:
    names = {"States.ALL": "any error", "States.Timeout": "timeout"}
    return ", ".join(names.get(e, e) for e in errors)


def _choice_label(choice: Mapping[str, Any]) -> str:
    """A Choice rule as a short label: its value, or "any of N present" for an Or of IsPresent tests."""
    if "Or" in choice:
        tested = [rule["Variable"].rsplit(".", 2)[-2] for rule in choice["Or"] if rule.get("IsPresent")]
        return "failed: " + " or ".join(tested) if len(tested) == len(choice["Or"]) else "any of several"
    return str(next((v for k, v in choice.items() if k not in ("Variable", "Next")), ""))


def _state_node(name: str, state: Mapping[str, Any]) -> str:
    kind = state["Type"]
    if kind == "Choice":
        return f'{name}{{"{name}"}}'
    if kind == "Pass":
        return f'{name}("{name}")'
    if kind == "Fail":
        error = state.get("Error") or "the step's error"
        return f'{name}(["{name}: fails with {error}"])'
    if kind == "Succeed":
        return f'{name}(["{name}"])'
    resource = str(state.get("Resource", ""))
    parameters = state.get("Parameters", {})
    function = _placeholder(parameters.get("FunctionName"))
    if function in constants.TASK_FUNCTIONS:
        module = constants.TASK_FUNCTIONS[function].split(".")[1]
        waits = ", waits for a task token" if resource.endswith(".waitForTaskToken") else ""
        return f'{name}["{name}<br/>λ {module}{waits}"]'
    integration = resource.removeprefix("arn:aws:states:::")  # e.g. sqs:sendMessage
    return f'{name}["{name}<br/>{integration}, no Lambda"]'


def workflow_lines(asl: Mapping[str, Any]) -> list[str]:
    """The state machine: a node per state, an edge per Next, Choice branch, Default and Catch."""
    states: Mapping[str, Mapping[str, Any]] = asl["States"]
    lines = ['  subgraph Workflow["Order workflow: Step Functions Standard"]', "    direction TB"]
    lines.append("    Start((start))")
    lines += [f"    {_state_node(name, state)}" for name, state in states.items()]
    lines.append('    Done(["order completed"])')
    lines.append(f"    Start --> {asl['StartAt']}")
    for name, state in states.items():
        for choice in state.get("Choices", []):
            lines.append(f'    {name} -->|"{_choice_label(choice)}"| {choice["Next"]}')
        if "Default" in state:
            lines.append(f'    {name} -->|"otherwise"| {state["Default"]}')
        if "Next" in state:
            lines.append(f"    {name} --> {state['Next']}")
        if state.get("End"):
            lines.append(f"    {name} --> Done")
        for catch in state.get("Catch", []):
            lines.append(f'    {name} -.->|"{_catch_label(catch["ErrorEquals"])}"| {catch["Next"]}')
    lines.append("  end")
    return lines


def published_events(asl: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(state, detail type) for every events:putEvents entry of the workflow."""
    found = []
    for name, state in asl["States"].items():
        if str(state.get("Resource", "")).endswith(":events:putEvents"):
            for entry in state["Parameters"]["Entries"]:
                detail_type = entry["DetailType"]
                found.append((name, DETAIL_TYPES.get(_placeholder(detail_type) or "", detail_type)))
    return found


def choreography_lines(asl: Mapping[str, Any], registry: Sequence[Any]) -> list[str]:
    """The bus, what the workflow publishes on it, and each registered subscriber with its pattern."""
    lines = [f'  {BUS}{{{{"EventBridge order bus<br/>archive, schema registry"}}}}']
    lines += [f'  {state} ==>|"{detail_type}"| {BUS}' for state, detail_type in published_events(asl)]
    lines.append('  subgraph Subscribers["Subscribers: own function, rule, retry policy, dead-letter queue"]')
    lines.append("    direction LR")
    for spec in registry:
        lines.append(f'    sub_{spec.name}["{spec.name}"]')
    lines.append("  end")
    for spec in registry:
        detail_types = spec.event_pattern.get("detail-type")
        label = ", ".join(detail_types) if detail_types else "every event from our sources"
        lines.append(f'  {BUS} -->|"{label}"| sub_{spec.name}')
        if spec.publishes:
            lines.append(f'  sub_{spec.name} -.->|"publishes"| {BUS}')
    return lines


def mermaid(asl: Mapping[str, Any], registry: Sequence[Any]) -> str:
    lines = ["flowchart TB", *workflow_lines(asl), *choreography_lines(asl, registry)]
    return "\n".join(lines) + "\n"


def block(asl: Mapping[str, Any], registry: Sequence[Any]) -> str:
    note = "<!-- generated by `python -m tools.diagram` from the ASL and infra/subscribers.py: do not edit -->"
    return f"{BEGIN}\n{note}\n\n```mermaid\n{mermaid(asl, registry)}```\n\n{END}"


def with_block(readme: str, new_block: str) -> str:
    """The README with its diagram block replaced (the end marker is added after BEGIN the first time)."""
    if BEGIN not in readme:
        raise ValueError(f"the README has no {BEGIN} marker")
    start = readme.index(BEGIN)
    end = readme.index(END, start) + len(END) if END in readme[start:] else start + len(BEGIN)
    return readme[:start] + new_block + readme[end:]


def current(readme_path: Path = README) -> tuple[str, str]:
    """(the README as it is, the README as the generator would write it)."""
    from infra.subscribers import REGISTRY  # imports aws-cdk-lib: only here

    text = readme_path.read_text(encoding="utf-8")
    return text, with_block(text, block(load_asl(), REGISTRY))


def main(argv: list[str] | None = None, readme: Path = README) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.diagram", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the README's diagram is out of date")
    args = parser.parse_args(argv)
    text, wanted = current(readme)
    if text == wanted:
        print("README diagram is up to date")
        return 0
    if args.check:
        print("README diagram is out of date: run `python -m tools.diagram`", file=sys.stderr)
        return 1
    readme.write_text(wanted, encoding="utf-8")
    print("README diagram updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
