"""One synthesized template per session; one sandbox per package, with the demo's batch run once.

The sandbox is package-scoped on purpose: it keeps moto's mock switched on, which must not leak into
other packages' tests (they start their own, empty, moto).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox import demo, scenarios
from sandbox.account import Sandbox
from sandbox.runner import OrderResult


@pytest.fixture(scope="package")
def sandbox(cdk_out: Path) -> Iterator[Sandbox]:
    with Sandbox(cdk_out, seed_catalog=scenarios.CATALOG_PATH) as running:
        yield running


@dataclass(frozen=True)
class Ran:
    scenario: scenarios.Scenario
    result: OrderResult


@dataclass(frozen=True)
class BatchRun:
    runs: list[Ran]
    catalog: dict

    def on(self, path: str) -> list[Ran]:
        found = [run for run in self.runs if run.scenario.path == path]
        assert found, f"the batch has no {path!r} order"
        return found

    def one(self, path: str) -> Ran:
        return self.on(path)[0]


@pytest.fixture(scope="package")
def batch_run(sandbox: Sandbox) -> BatchRun:
    """The demo's batch (every path, reviewers deciding, a review timing out), run once."""
    catalog = scenarios.load_catalog()
    batch = scenarios.batch(scenarios.Storefront(catalog, demo.deployed_pricing(sandbox)), catalog)
    results = demo.run_orders(sandbox, batch, demo.Progress(io.StringIO()))
    return BatchRun([Ran(s, r) for s, r in zip(batch, results, strict=True)], catalog)
