"""What counts as a breaking change of an event schema, from a consumer's point of view.

A consumer written against the old schema breaks when a field it may rely on disappears (removed
or renamed), changes type, stops being required (it may now be absent), or when a new required
field appears (a consumer that also produces or validates such events would reject them).
Adding an optional field, or a description, is safe.
"""

from __future__ import annotations

from typing import Any


def _types(schema: dict[str, Any]) -> set[str]:
    declared = schema.get("type")
    return set(declared) if isinstance(declared, list) else {declared} if declared else set()


def breaking_changes(old: dict[str, Any], new: dict[str, Any], path: str = "$") -> list[str]:
    problems: list[str] = []
    if _types(old) != _types(new):
        problems.append(f"{path}: type {sorted(_types(old))} became {sorted(_types(new))}")
        return problems
    if "object" in _types(old):
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        for name, old_child in old_props.items():
            if name not in new_props:
                problems.append(f"{path}.{name}: removed or renamed")
                continue
            problems += breaking_changes(old_child, new_props[name], f"{path}.{name}")
        problems += [f"{path}.{name}: no longer required" for name in sorted(old_required - new_required)]
        problems += [f"{path}.{name}: new required field" for name in sorted(new_required - old_required)]
    if "array" in _types(old):
        problems += breaking_changes(old.get("items", {}), new.get("items", {}), f"{path}[]")
    return problems
