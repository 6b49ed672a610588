"""Every shell command in the README and docs/ runs as written (tests/docs/commands.py says how, and which not):
with AWS CLI v1, and again with v2 for the blocks that call ``aws`` when a v2 is installed (tests/docs/aws_cli.py)."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from sandbox import scenarios
from sandbox.account import Sandbox
from tests.docs import aws_cli
from tests.docs.aws_cli import V1, AwsCli
from tests.docs.commands import DOCUMENTED_URL, ROOT, Block, all_blocks, plan
from tests.orderctl.conftest import free_port

BLOCKS = all_blocks()
V2 = aws_cli.installed_v2()
# Every block with v1; a block calling `aws` with v2 as well, collected only where a v2 is installed (none on CI).
CASES: list[tuple[Block, AwsCli]] = [(b, V1) for b in BLOCKS]
if V2 is not None:
    CASES += [(b, V2) for b in BLOCKS if aws_cli.calls_aws(b.script)]


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


@pytest.fixture
def aws(request: pytest.FixtureRequest) -> AwsCli:
    """The CLI the case names, checked to be of that major version (the venv's must be a v1, AWS_CLI_V2 a v2)."""
    cli: AwsCli = request.param
    found = aws_cli.major_version(cli.executable)
    assert found == cli.major, f"{cli.executable} is not an AWS CLI v{cli.major} (aws --version: v{found})"
    return cli


def run(block: Block, workdir: Path, endpoint: str | None, aws: AwsCli = V1) -> subprocess.CompletedProcess[str]:
    script = "\n".join(block.script)
    if endpoint:
        script = script.replace(DOCUMENTED_URL, endpoint)
    first = workdir / ".aws-cli"  # `aws` is this CLI, whatever else PATH holds
    first.mkdir(exist_ok=True)
    (first / "aws").unlink(missing_ok=True)
    (first / "aws").symlink_to(aws.executable)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {
        "PATH": os.pathsep.join([str(first), os.environ.get("PATH", "")]),
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


def case_id(block: Block, cli: AwsCli) -> str:
    return f"{block.name}@{cli.name}" if aws_cli.calls_aws(block.script) else block.name


@pytest.mark.parametrize(
    ("block", "sandbox", "aws"),
    [(b, b, cli) for b, cli in CASES],
    ids=[case_id(b, cli) for b, cli in CASES],
    indirect=["sandbox", "aws"],
)
def test_the_commands_of_the_block_run_as_written(
    block: Block, aws: AwsCli, sandbox: Sandbox | None, workdir: Path
) -> None:
    if not block.script or all(not line.strip() or line.lstrip().startswith("#") for line in block.script):
        pytest.skip("; ".join(sorted({s.reason for s in block.skipped})) or "no command")
    done = run(block, workdir, sandbox.endpoint_url if sandbox else None, aws)
    assert done.returncode == 0, (
        f"{block.name} with {aws.name} ({aws.executable})\n--- script\n"
        + "\n".join(block.script)
        + (f"\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}")
    )


def test_every_skipped_command_says_why() -> None:
    skipped = [(b.name, s) for b in BLOCKS for s in b.skipped]
    assert skipped, "the deploy commands are marked # needs AWS"
    for where, command in skipped:
        assert command.reason.split(":", 1)[-1].strip(" ()"), f"{where}: {command.command} is skipped without a reason"


def test_no_command_run_hides_its_failure() -> None:
    """`set -e` stops a script at a failing command, but not at one followed by && or ||: such a failure would
    pass unseen (a v2-only option in `aws lambda invoke ... && cat out.json` did)."""
    hidden = [f"{b.name}: {line.strip()}" for b in BLOCKS for line in b.script if re.search(r"&&|\|\|", line)]
    assert not hidden, "write each command on its own line:\n" + "\n".join(hidden)


def test_the_documents_have_shell_blocks() -> None:
    names = {b.path.name for b in BLOCKS}
    assert {"README.md", "SANDBOX.md", "OPERATIONS.md"} <= names


def test_every_aws_command_is_written_for_v1_and_v2_alike() -> None:
    """Also the commands not run here (# needs AWS): none in a form only one CLI accepts."""
    found = [
        f"{b.name}: {command.strip()}: {why}"
        for b in BLOCKS
        for command in aws_cli.commands(b.lines)
        for why in aws_cli.one_cli_only(command)
    ]
    assert not found, "\n".join(found)
    assert aws_cli.one_cli_only("aws lambda invoke --function-name f --payload '{}' out.json")
    assert aws_cli.one_cli_only("aws --no-cli-pager logs describe-log-groups")
    assert not aws_cli.one_cli_only("aws lambda invoke --function-name f --payload fileb://in.json out.json")


# A command only one CLI accepts fails the run with the other, before it sends anything (port 9: nobody there).
_NOWHERE = "http://127.0.0.1:9"


def _one_command(command: str) -> Block:
    return plan(Block(ROOT / "README.md", 0, [command]))


def test_a_v2_only_form_fails_the_v1_run(tmp_path: Path) -> None:
    invoke = f"aws --endpoint-url {_NOWHERE} lambda invoke --function-name f --payload fileb://{os.devnull} out.json"
    done = run(_one_command(invoke + " --cli-binary-format raw-in-base64-out"), tmp_path, None, V1)
    assert done.returncode != 0
    assert "Unknown options: --cli-binary-format" in done.stderr, done.stderr


if V2 is not None:  # collected with the v2 cases only

    def test_a_v1_only_form_fails_the_v2_run(tmp_path: Path) -> None:
        assert V2 is not None
        invoke = f"""aws --endpoint-url {_NOWHERE} lambda invoke --function-name f --payload '{{"a": 1}}' out.json"""
        done = run(_one_command(invoke), tmp_path, None, V2)
        assert done.returncode != 0
        assert "Invalid base64" in done.stderr, done.stderr
