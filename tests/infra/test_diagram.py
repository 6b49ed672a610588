"""The README's architecture diagram is generated from the ASL and the subscriber registry, and current."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from infra.subscribers import REGISTRY, SubscriberSpec, order_events
from lambdas.shared import constants
from tools import diagram

EDGE = re.compile(r"^\s*(\w+) (-->|-\.->|==>)(?:\|\"([^\"]*)\"\|)? (\w+)$")


def edges(text: str) -> set[tuple[str, str, str]]:
    """(from, label, to) of every edge line of a Mermaid flowchart."""
    found = set()
    for line in text.splitlines():
        if match := EDGE.match(line):
            source, _arrow, label, target = match.groups()
            found.add((source, label or "", target))
    return found


def test_the_readme_diagram_is_up_to_date() -> None:
    text, wanted = diagram.current()
    assert text == wanted, "README diagram is out of date: run `python -m tools.diagram`"
    assert text.count(diagram.BEGIN) == 1 and text.count(diagram.END) == 1
    assert "```mermaid\nflowchart TB" in text


def test_every_state_and_transition_of_the_asl_is_drawn() -> None:
    asl = diagram.load_asl()
    text = diagram.mermaid(asl, REGISTRY)
    drawn = edges(text)
    for name, state in asl["States"].items():
        assert re.search(rf"^    {name}[\[\(\{{]", text, re.M), f"state {name} has no node"
        if "Next" in state:
            assert (name, "", state["Next"]) in drawn
        for catch in state.get("Catch", []):
            assert any(s == name and t == catch["Next"] for s, _, t in drawn), f"{name} catch -> {catch['Next']}"
        for choice in state.get("Choices", []):
            assert any(s == name and t == choice["Next"] and label for s, label, t in drawn)
    assert ("Start", "", asl["StartAt"]) in drawn
    assert ("WaitForPaymentReview", "timeout", "ReviewTimedOut") in drawn
    assert ("PublishOrderCompleted", constants.EVENT_ORDER_COMPLETED, diagram.BUS) in drawn
    assert ("PublishOrderFailed", constants.EVENT_ORDER_FAILED, diagram.BUS) in drawn
    assert "λ wait_for_payment_review, waits for a task token" in text


def test_every_subscriber_is_drawn_with_what_it_listens_to() -> None:
    drawn = edges(diagram.mermaid(diagram.load_asl(), REGISTRY))
    for spec in REGISTRY:
        listens = [label for source, label, target in drawn if source == diagram.BUS and target == f"sub_{spec.name}"]
        assert listens == [", ".join(spec.event_pattern.get("detail-type", [])) or "every event from our sources"]
        assert ((f"sub_{spec.name}", "publishes", diagram.BUS) in drawn) == spec.publishes


def test_a_change_to_the_asl_or_the_registry_changes_the_diagram() -> None:
    asl = diagram.load_asl()
    before = diagram.mermaid(asl, REGISTRY)
    changed: dict[str, Any] = copy.deepcopy(asl)
    changed["States"]["NotifyWarehouse"]["Next"] = "PublishOrderCompleted"
    assert ("NotifyWarehouse", "", "PublishOrderCompleted") in edges(diagram.mermaid(changed, REGISTRY))
    newcomer = SubscriberSpec(
        name="loyalty",
        handler="lambdas.subscribers.loyalty.handler.handler",
        event_pattern=order_events(constants.EVENT_ORDER_COMPLETED),
        description="Loyalty points",
    )
    with_newcomer = diagram.mermaid(asl, [*REGISTRY, newcomer])
    assert with_newcomer != before
    assert (diagram.BUS, constants.EVENT_ORDER_COMPLETED, "sub_loyalty") in edges(with_newcomer)


def test_the_block_is_replaced_between_the_markers_and_inserted_once() -> None:
    fresh = f"# Title\n\n{diagram.BEGIN}\n\n## Next\n"
    once = diagram.with_block(fresh, diagram.block(diagram.load_asl(), REGISTRY))
    assert once.count(diagram.END) == 1 and once.endswith(f"{diagram.END}\n\n## Next\n")
    again = diagram.with_block(once, diagram.block(diagram.load_asl(), REGISTRY))
    assert again == once
    replaced = diagram.with_block(once, f"{diagram.BEGIN}\nnew\n{diagram.END}")
    assert replaced == f"# Title\n\n{diagram.BEGIN}\nnew\n{diagram.END}\n\n## Next\n"
    with pytest.raises(ValueError, match="no <!-- DIAGRAM --> marker"):
        diagram.with_block("# no marker", "x")


def test_check_mode_fails_on_a_stale_readme(tmp_path: Path) -> None:
    stale = tmp_path / "README.md"
    stale.write_text(f"# Title\n{diagram.BEGIN}\nold\n{diagram.END}\n")
    assert diagram.main(["--check"], readme=stale) == 1
    assert "old" in stale.read_text()  # --check writes nothing
    assert diagram.main([], readme=stale) == 0
    assert "```mermaid" in stale.read_text()
    assert diagram.main(["--check"], readme=stale) == 0
