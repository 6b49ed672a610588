"""Every unit test starts its functions cold: settings cached by an earlier test's environment are forgotten."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest


def forget_settings() -> None:
    """Clear each handler's cached ``settings()`` (what the sandbox's reset_warm_state does per deployment)."""
    for name, module in list(sys.modules.items()):
        settings = getattr(module, "settings", None) if name.startswith("lambdas.") else None
        if callable(getattr(settings, "cache_clear", None)):
            settings.cache_clear()  # type: ignore[union-attr]


@pytest.fixture(autouse=True)
def cold_settings() -> Iterator[None]:
    forget_settings()
    yield
    forget_settings()
