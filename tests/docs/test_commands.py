"""Every shell command in the README and docs/ runs as written (tests/docs/commands.py says how, and which not)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from sandbox import scenarios
from sandbox.account import Sandbox
from tests.docs.commands import DOCUMENTED_URL, ROOT, Block, all_blocks
from tests.orderctl.conftest import free_port

BLOCKS = all_blocks()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The repository as a reader's checkout (every top-level entry linked), where files written stay out of it."""
    for entry in ROOT.iterdir():
        if entry.name not in (".git",):
            (tmp_path / entry.name).symlink_to(entry)
    return tmp_path


@pytest.fixture
def sandbox(request: pytest.FixtureRequest, cdk_out: Path) -> Iterator[Sandbox | None]:
    """A fresh sandbox served on a free port for a block that talks to one (order ids repeat across docs)."""
    block: Block = request.param
    if not block.needs_sandbox:
        yield None
        return
    try:
        with Sandbox(cdk_out, port=free_port(), seed_catalog=scenarios.CATALOG_PATH) as running:
            yield running
    finally:
        with mock_aws():  # a served sandbox leaves moto's backends as they were; mock_aws resets them on exit
            pass


def run(block: Block, workdir: Path, endpoint: str | None) -> subprocess.CompletedProcess[str]:
    script = "\n".join(block.script)
    if endpoint:
        script = script.replace(DOCUMENTED_URL, endpoint)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {
        "HOME": str(workdir),  # no AWS CLI profile or config of the machine
        "REPO": str(ROOT),
        "PYTHONPATH": str(ROOT),
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    return subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=workdir, env=environment, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("block", "sandbox"), [(b, b) for b in BLOCKS], ids=[b.name for b in BLOCKS], indirect=["sandbox"]
)
def test_the_commands_of_the_block_run_as_written(block: Block, sandbox: Sandbox | None, workdir: Path) -> None:
    if not block.script or all(not line.strip() or line.lstrip().startswith("#") for line in block.script):
        pytest.skip("; ".join(sorted({s.reason for s in block.skipped})) or "no command")
    done = run(block, workdir, sandbox.endpoint_url if sandbox else None)
    assert done.returncode == 0, (
        f"{block.name}\n--- script\n"
        + "\n".join(block.script)
        + (f"\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}")
    )


def test_every_skipped_command_says_why() -> None:
    skipped = [(b.name, s) for b in BLOCKS for s in b.skipped]
    assert skipped, "the deploy commands are marked # needs AWS"
    for where, command in skipped:
        assert command.reason.split(":", 1)[-1].strip(" ()"), f"{where}: {command.command} is skipped without a reason"


def test_the_documents_have_shell_blocks() -> None:
    names = {b.path.name for b in BLOCKS}
    assert {"README.md", "SANDBOX.md", "OPERATIONS.md"} <= names
