"""`make synth` prints nothing but CDK's one progress line for the code asset's build: no deprecation warning
(jsii), no feature-flag notice (the CDK CLI), and a note that the asset ships without bytecode only on a machine
without a python3.13 to compile it.

This runs the CLI itself, exactly as the Makefile does (Node 22 from node_modules, offline), because
the two kinds of warning come from two processes: the app's (jsii: "[WARNING] ... is deprecated") and
the CLI's ("N feature flags are not configured"). It is a full synth, cdk-nag included (~30 s).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from infra.code_asset import REPO_ROOT, runtime_python

BIN = REPO_ROOT / "node_modules" / ".bin"
# aws-cdk-lib writes this to stderr, unconditionally, before it runs a bundling step (infra/code_asset.py).
BUNDLING_PROGRESS = re.compile(r"^Bundling asset \S+/Code/Stage\.\.\.$")


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
    others = [line for line in printed if not BUNDLING_PROGRESS.match(line)]
    expected_notes = ["code asset: no python"] if runtime_python() is None else []
    assert [line[: len("code asset: no python")] for line in others] == expected_notes, "\n".join(printed)
    assert len(printed) - len(others) == 1, "one code asset, built once"
