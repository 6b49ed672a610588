"""The developer loop: how long `cdk synth` and `make test` take on this machine."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _environment() -> dict[str, str]:
    """What the Makefile exports for every target (Node 22 from node_modules, CDK CLI offline)."""
    env = dict(os.environ)
    env["PATH"] = f"{REPO / 'node_modules' / '.bin'}{os.pathsep}{env.get('PATH', '')}"
    env["CDK_DISABLE_VERSION_CHECK"] = "1"
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    return env


def _timed(command: list[str], timeout: float) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    result = subprocess.run(
        command, cwd=REPO, env=_environment(), capture_output=True, text=True, timeout=timeout, check=False
    )
    return time.perf_counter() - started, result


def synth_seconds(repeats: int = 3, timeout: float = 600.0) -> dict[str, object]:
    """Median of `npx cdk synth --quiet` (what `make synth` runs after setup)."""
    samples = []
    for _ in range(repeats):
        seconds, result = _timed(["npx", "cdk", "synth", "--quiet"], timeout)
        if result.returncode != 0:
            raise RuntimeError(f"cdk synth failed:\n{(result.stdout + result.stderr)[-2000:]}")
        samples.append(seconds)
    return {"synth_seconds": round(statistics.median(samples), 1), "synth_samples": [round(s, 1) for s in samples]}


_SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|deselected)")


def make_test_seconds(timeout: float = 3600.0) -> dict[str, object]:
    """One run of `make test` (the test command a developer runs); its pytest summary line too."""
    seconds, result = _timed(["make", "--no-print-directory", "test"], timeout)
    tail = (result.stdout + result.stderr).strip().splitlines()
    summary = next((line.strip("= ") for line in reversed(tail) if _SUMMARY.search(line)), "")
    counts = {kind.rstrip("s") if kind.startswith("error") else kind: int(n) for n, kind in _SUMMARY.findall(summary)}
    problems = [line for line in tail if line.startswith(("FAILED ", "ERROR "))]
    return {
        "make_test_seconds": round(seconds, 1),
        "make_test_problems": problems[:20],
        "make_test_ok": result.returncode == 0,
        "make_test_summary": summary,
        "make_test_counts": counts,
    }
