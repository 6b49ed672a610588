"""The AWS CLIs the docs' commands run with: v1 always (pinned in requirements-dev.txt, the venv's ``aws``), and
v2 when one is installed, so that every command is written in a form both accept.

The two differ where a reader pastes (measured with 1.46.3 and Debian's 2.9.19): v2 reads a blob parameter
given inline or with ``file://`` (``lambda invoke --payload``) as base64 and needs ``--cli-binary-format
raw-in-base64-out``, which v1 rejects (``fileb://`` works in both); v2 pipes output through a pager on a
terminal (``AWS_PAGER=""`` turns it off and v1 ignores it; ``--no-cli-pager`` is v2 only); v1 and v2 before
2.13 ignore ``AWS_ENDPOINT_URL`` (hence ``--endpoint-url`` on every command); timestamps print as epoch
seconds in v1 and ISO 8601 in v2.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

V2_ENV = "AWS_CLI_V2"  # names a v2 executable: its cases are then collected, and fail if it is not a v2
_USUAL_PLACES = ("/usr/local/bin", "/usr/bin")  # the official installer's, Debian's
_VERSION = re.compile(r"aws-cli/(\d+)\.")
_COMMAND = re.compile(r"(?<![\w/.$-])aws\s+(?:--[\w-]+|[a-z])")

# Forms only one CLI accepts: (pattern, why). A command is the block's text with its continuations joined.
ONE_CLI_ONLY: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"--cli-binary-format\b"), "v2 only: v1 stops on an unknown option (use --payload fileb://FILE)"),
    (re.compile(r"--no-cli-pager\b|--(?:no-)?cli-auto-prompt\b"), 'v2 only (AWS_PAGER="" works in both)'),
    (
        re.compile(r"--payload(?:\s+|=)(?!fileb://)\S"),
        "an inline or file:// payload is JSON to v1 and base64 to v2 (use --payload fileb://FILE)",
    ),
)


@dataclass(frozen=True)
class AwsCli:
    """An AWS CLI of one major version: the docs' scripts find this executable first on PATH as ``aws``."""

    major: str  # "1" | "2"
    executable: Path

    @property
    def name(self) -> str:
        return f"aws-cli-v{self.major}"


V1 = AwsCli("1", Path(sys.executable).with_name("aws"))  # the venv's: requirements-dev.txt pins awscli 1.x


@cache
def major_version(executable: Path) -> str | None:
    """'1' or '2' from ``aws --version`` (``aws-cli/2.9.19 Python/...``); None if it does not run."""
    try:
        shown = subprocess.run([str(executable), "--version"], capture_output=True, text=True, timeout=120)
    except OSError:
        return None
    found = _VERSION.match((shown.stdout or shown.stderr).strip())
    return found[1] if found else None


def installed_v2() -> AwsCli | None:
    """The v2 to run the commands with too: the one AWS_CLI_V2 names, else the first v2 ``aws`` on PATH or in
    the usual places (none on a machine with only the venv's v1: its v2 cases are then not collected)."""
    if named := os.environ.get(V2_ENV):
        return AwsCli("2", Path(named))
    places = [*os.environ.get("PATH", "").split(os.pathsep), *_USUAL_PLACES]
    for candidate in dict.fromkeys(Path(place) / "aws" for place in places if place):
        if candidate != V1.executable and candidate.is_file() and major_version(candidate) == "2":
            return AwsCli("2", candidate)
    return None


def calls_aws(script: list[str]) -> bool:
    """Whether a script runs an ``aws`` command (not a path or a word containing aws)."""
    return any(_COMMAND.search(line.split("#", 1)[0]) for line in script)


def commands(lines: list[str]) -> list[str]:
    """The block's commands, continuation lines (ending in a backslash) joined."""
    joined: list[str] = []
    pending = ""
    for line in lines:
        stripped = line.rstrip()
        if stripped.endswith("\\"):
            pending += stripped.removesuffix("\\") + " "
        else:
            joined.append(pending + line)
            pending = ""
    return [*joined, pending] if pending else joined


def one_cli_only(command: str) -> list[str]:
    """Why the ``aws`` command runs with only one of v1 and v2 (empty when it runs with both)."""
    if not _COMMAND.search(command):
        return []
    return [why for pattern, why in ONE_CLI_ONLY if pattern.search(command)]
