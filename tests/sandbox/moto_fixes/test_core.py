"""moto core fix (sandbox/moto_fixes/core.py): moto is still broken without it, and it works."""

from __future__ import annotations

import threading

from sandbox.account import ACCOUNT_ID, Sandbox
from sandbox.moto_fixes import suspended


def _lookup_while_the_backend_lock_is_held() -> bool:
    """True when a lookup of an existing account completes while moto's backend lock is held."""
    from moto.core import base_backend
    from moto.dynamodb.models import dynamodb_backends

    done = threading.Event()
    assert dynamodb_backends[ACCOUNT_ID] is not None  # the account exists before the lock is taken
    with base_backend.backend_lock:
        threading.Thread(target=lambda: (dynamodb_backends[ACCOUNT_ID], done.set()), daemon=True).start()
        finished = done.wait(0.3)
    done.wait(5)
    return finished


def test_backend_lookup_lock_without_fix(account: Sandbox) -> None:
    with suspended("backend-lookup-lock"):
        assert not _lookup_while_the_backend_lock_is_held()


def test_backend_lookup_lock_with_fix(account: Sandbox) -> None:
    assert _lookup_while_the_backend_lock_is_held()
