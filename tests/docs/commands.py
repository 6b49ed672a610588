"""The shell commands of the README and docs/, as a reader would paste them, and how the docs test runs each.

Every fenced ``bash``/``sh``/``shell`` block is one script, run as written against a sandbox served on a
free port (its URL replaces ``http://127.0.0.1:5000``), except for lines that cannot run in a test:

- ``# needs AWS`` on a line (or ``# needs AWS:`` on its own line before it): a real AWS account; skipped.
- ``# takes minutes``: a full benchmark or suite run; skipped (``make bench`` / ``make reliability`` run it).
- ``make TARGET`` (also one marked ``# needs AWS``): dry-run (``make -n``): the target exists and its recipe
  expands; running it means minutes (demo, bench, reliability), a server that never returns (serve), this
  very test (test), or an AWS account (deploy, diff, watch, seed, destroy).
- ``pytest ...``: collected (``--collect-only``), not run: the suite runs them already.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
DOCUMENTED_URL = "http://127.0.0.1:5000"
_FENCE = re.compile(r"^```(\w*)\s*$")
SHELLS = ("bash", "sh", "shell")
NEEDS_AWS, TAKES_MINUTES = "# needs AWS", "# takes minutes"
_MAKE = re.compile(r"^make ([\w -]+?)\s*&?\s*(?:#.*)?$")
_PYTEST = re.compile(r"^(\.venv/bin/pytest|pytest)\b")


@dataclass(frozen=True)
class Skipped:
    line: int
    command: str
    reason: str


@dataclass
class Block:
    path: Path
    line: int  # of the opening fence
    lines: list[str]
    script: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    dry_runs: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def needs_sandbox(self) -> bool:
        talks = re.compile(r"\baws\b|orderctl|examples\.seed")
        return any(DOCUMENTED_URL in line or talks.search(line) for line in self.script)


def shell_blocks(path: Path) -> list[Block]:
    blocks: list[Block] = []
    current: Block | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fence = _FENCE.match(line)
        if current is None and fence and fence[1] in SHELLS:
            current = Block(path, number, [])
        elif current is not None and line.startswith("```"):
            blocks.append(plan(current))
            current = None
        elif current is not None:
            current.lines.append(line)
    return blocks


def plan(block: Block) -> Block:
    """Fill the block's script (what runs), skipped commands (with why) and dry runs."""
    aws_from_here = False
    continuing: str | None = None  # the reason the previous line's command is skipped, when it continues
    for offset, line in enumerate(block.lines, start=1):
        number = block.line + offset
        stripped = line.strip()
        if continuing is not None:
            block.skipped[-1] = Skipped(block.skipped[-1].line, block.skipped[-1].command + " " + stripped, continuing)
            continuing = continuing if stripped.endswith("\\") else None
            continue
        if stripped.startswith(NEEDS_AWS) and not stripped.removeprefix(NEEDS_AWS).strip(" :").startswith("("):
            aws_from_here = aws_from_here or stripped.startswith(NEEDS_AWS + ":")
        if make := _MAKE.match(stripped.split(NEEDS_AWS)[0].strip()):
            block.dry_runs.append(stripped)
            block.script.append(f'make --no-print-directory -n -C "$REPO" {make[1]} >/dev/null')
            continue
        reason = None
        if NEEDS_AWS in line and not stripped.startswith("#"):
            reason = "needs a real AWS account (" + line.split(NEEDS_AWS, 1)[1].strip(" :") + ")"
        elif TAKES_MINUTES in line:
            reason = "takes minutes: " + line.split(TAKES_MINUTES, 1)[1].strip(" :")
        if reason:
            block.skipped.append(Skipped(number, stripped, reason))
            continuing = reason if stripped.endswith("\\") else None
            continue
        if _PYTEST.match(stripped):
            block.dry_runs.append(stripped)
            block.script.append(line + " --collect-only -q -p no:cacheprovider >/dev/null")
            continue
        block.script.append(line)
    return block


def all_blocks() -> list[Block]:
    return [block for path in DOCUMENTS for block in shell_blocks(path)]
