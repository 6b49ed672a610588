"""`python -m sandbox serve` as a user starts it, for the tests that drive it from another process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(cdk_out: Path) -> Iterator[tuple[str, str]]:
    """`python -m sandbox serve` with no AWS_* variables (no region, no profile): (endpoint, what it printed)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_DEFAULT_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--cdk-out", str(cdk_out), "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "Ctrl-C stops it" in line:  # the last line of what it prints on start
                break
        else:
            pytest.fail("the server did not start:\n" + "".join(lines))
        yield f"http://127.0.0.1:{port}", "".join(lines)
    finally:
        process.terminate()
        # Ctrl-C stops executions and lets invocations and deliveries in flight finish (2.7 s on a quiet machine).
        process.wait(timeout=60)
