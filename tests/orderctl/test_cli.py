"""The command line itself: help for every command, and a real process against the server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orderctl.__main__ import main
from tests.orderctl.conftest import Orderctl

COMMANDS = ("start", "status", "reviews", "approve", "reject", "replay", "redrive", "audit-verify", "sales")


def test_help_lists_every_command() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "orderctl", "--help"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    listed = [line.split()[0] for line in shown.splitlines() if line.startswith("    ") and line.split()]
    assert [c for c in listed if c in COMMANDS] == list(COMMANDS)
    assert "--endpoint-url" in shown and "--json" in shown


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert f"usage: orderctl {command}" in shown
    assert f"examples:\n  orderctl {command}" in shown


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
    assert "the following arguments are required: <command>" in capsys.readouterr().err


def test_orderctl_as_its_own_process_against_the_server(orderctl: Orderctl, tmp_path: Path) -> None:
    """What an operator does in a second terminal next to `python -m sandbox serve`: no AWS profile,
    region or credentials are needed for the sandbox."""
    bare = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {"HOME": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "orderctl", "--endpoint-url", orderctl.endpoint_url, "start", "--example", "happy",
         "--order-id", "proc-0001", "--wait", "30", "--json"],
        capture_output=True, text=True, timeout=120, env=bare,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["status"] == "SUCCEEDED"
    missing = subprocess.run(
        [sys.executable, "-m", "orderctl", "status", "proc-0002", "--endpoint-url", orderctl.endpoint_url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert missing.returncode == 1
    assert "orderctl: error: no order 'proc-0002'" in missing.stderr
