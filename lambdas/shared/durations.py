"""Lengths of time as people read them: ``72 h`` for a configured timeout, ``1 d 23 h`` for a wait.

In the kernel because the workflow's own messages (a review timeout's cause, which the Step Functions console
shows) and orderctl's output say them the same way.
"""

from __future__ import annotations


def duration(seconds: float) -> str:
    """3 d 4 h, 2 h 5 min, 12 min, 40 s: the two largest units a person needs."""
    seconds = int(max(0, seconds))
    units = (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1))
    parts: list[str] = []
    for name, size in units:
        if seconds >= size or (name == "s" and not parts):
            parts.append(f"{seconds // size} {name}")
            seconds %= size
        if len(parts) == 2:
            break
    return " ".join(parts)


def span(seconds: float) -> str:
    """A configured length of time as people set it: ``72 h`` (whole hours), else ``duration``."""
    whole = int(seconds)
    return f"{whole // 3600} h" if whole >= 3600 and whole % 3600 == 0 else duration(seconds)
