"""Reading paths out of a state machine definition (the ASL file or a deployed definition)."""

from __future__ import annotations

from typing import Any


def approved_path(states: dict[str, Any], start: str) -> list[str]:
    """The states from `start` following Next (at a Choice: its APPROVED branch) to the end."""
    path, name = [], start
    while name:
        path.append(name)
        state = states[name]
        if state["Type"] == "Choice":
            name = next(c["Next"] for c in state["Choices"] if c.get("StringEquals") == "APPROVED")
        else:
            name = state.get("Next")
    return path
