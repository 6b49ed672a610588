"""`make synth` prints nothing: no deprecation warning (jsii), no feature-flag notice (the CDK CLI).

This runs the CLI itself, exactly as the Makefile does (Node 22 from node_modules, offline), because
the two kinds of warning come from two processes: the app's (jsii: "[WARNING] ... is deprecated") and
the CLI's ("N feature flags are not configured"). It is a full synth, cdk-nag included (~30 s).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from infra.functions import REPO_ROOT

BIN = REPO_ROOT / "node_modules" / ".bin"


def test_cdk_synth_prints_no_warning(tmp_path: Path) -> None:
    if not (BIN / "cdk").exists():
        pytest.fail("the CDK CLI is not installed: run `make setup` (npm ci)")
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "CDK_DISABLE_VERSION_CHECK": "1",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    result = subprocess.run(
        [str(BIN / "cdk"), "synth", "--quiet", "--output", str(tmp_path / "cdk.out")],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    printed = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert printed == [], "\n".join(printed)
