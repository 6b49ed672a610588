"""One sandbox world for the reliability suites (at the small size).

The seed is fixed so that `make test` is repeatable; RELIABILITY_SEED=<n> replays another one (for
instance a seed `make reliability` printed).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.world import World

DEFAULT_SEED = 20261122


@pytest.fixture(scope="package")
def world(cdk_out: Path) -> Iterator[World]:
    """The session's synthesized app (tests/conftest.py), deployed with a fault injector."""
    seed = int(os.environ.get("RELIABILITY_SEED", DEFAULT_SEED))
    with World.started(cdk_out, seed) as running:
        yield running
