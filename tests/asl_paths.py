"""Reading paths out of a state machine definition (the ASL file or a deployed definition)."""

from __future__ import annotations

from typing import Any


def approved_path(states: dict[str, Any], start: str) -> list[str]:
    """The states from `start` following Next to the end: at a Choice, its APPROVED branch if it has one,
    else its Default (the branch taken when nothing unusual happened: a plain failure, fully compensated)."""
    path, name = [], start
    while name:
        path.append(name)
        state = states[name]
        if state["Type"] == "Choice":
            approved = [c["Next"] for c in state["Choices"] if c.get("StringEquals") == "APPROVED"]
            name = approved[0] if approved else state["Default"]
        else:
            name = state.get("Next")
    return path
