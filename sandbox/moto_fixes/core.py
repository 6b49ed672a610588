"""moto's core, under every service: a backend lookup for an existing account takes no process-wide lock."""

from __future__ import annotations

from typing import Any

from sandbox.moto_fixes.base import original, register


def _backend_dict_getitem(self: Any, account_id: str) -> Any:
    # Existing accounts need no lock: a dict lookup is atomic. Only a new account goes through moto.
    if dict.__contains__(self, account_id):
        return dict.__getitem__(self, account_id)
    return original("backend-lookup-lock")(self, account_id)


register(
    "backend-lookup-lock",
    "Every backend lookup (several per API call) takes one process-wide lock, even for an account that "
    "exists: with dozens of executions and handlers on threads, about a quarter of all thread time "
    "was spent queueing for it.",
    {("moto.core.base_backend:BackendDict", "__getitem__"): _backend_dict_getitem},
)
