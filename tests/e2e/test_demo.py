"""`make demo`'s second half (`python -m sandbox demo`), as a newcomer runs it: with no network."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox import scenarios

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def _without_network() -> list[str]:
    """`unshare -rn` runs the command in a new network namespace with only a loopback that is down."""
    if shutil.which("unshare") and subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-rn"]
    pytest.skip("unshare -rn is not available here (no user namespaces)")


def test_the_demo_runs_every_path_with_no_network_and_exits_0(cdk_out: Path) -> None:
    command = [*_without_network(), sys.executable, "-m", "sandbox", "--cdk-out", str(cdk_out), "demo"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for path in scenarios.EXPECTED:
        assert f" {path} " in out, path
    assert "SUCCEEDED" in out and "FAILED" in out
    assert "Order.PaymentDeclined: " in out and "Order.ReviewTimedOut: " in out  # failures give their reason
    assert "hash chain verified" in out and "orders/s through the sandbox" in out
    assert "DEMO CHECK FAILED" not in out
