"""What a newcomer reads first says what is true (issue 12): `make help`, requirements-dev.txt, the README's
length and the sample `make demo` output in docs/SANDBOX.md."""

from __future__ import annotations

import re
import subprocess
from importlib.metadata import metadata
from pathlib import Path

from sandbox import demo
from sandbox.moto_fixes import FIXES

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = (ROOT / "Makefile").read_text()
README_MAX_LINES = 250


def make_help() -> dict[str, str]:
    """target -> what `make help` says it does."""
    shown = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    return {m[1]: m[2] for m in re.finditer(r"^  make (\S+)\s+(.*)$", shown.stdout, re.MULTILINE)}


def recipe(target: str) -> str:
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)*)", MAKEFILE, re.MULTILINE)
    assert match, f"no rule for {target}"
    return match[1]


def test_make_help_lists_every_target_once() -> None:
    phony = set(re.search(r"^\.PHONY:(.*)$", MAKEFILE, re.MULTILINE)[1].split()) - {"help"}  # type: ignore[index]
    listed = make_help()
    assert set(listed) == phony
    assert {"serve", "diff", "setup", "clean"} <= set(listed)


def test_make_help_says_what_lint_runs() -> None:
    said = make_help()["lint"]
    runs = recipe("lint")
    assert "ruff check" in said and "ruff check" in runs
    assert "ruff format --check" in said and "ruff format --check" in runs
    assert "cfn-lint" not in runs
    assert "cfn-lint" not in said.split("(")[0], f"`make help` says lint runs cfn-lint: {said}"


def test_requirements_dev_names_real_targets_and_real_moto_extras() -> None:
    text = (ROOT / "requirements-dev.txt").read_text()
    for target in re.findall(r"make (\w+)", text):
        assert re.search(rf"^{target}:", MAKEFILE, re.MULTILINE), f"requirements-dev.txt names `make {target}`"
    extras = re.search(r"^moto\[([^\]]*)\]", text, re.MULTILINE)
    assert extras
    known = set(metadata("moto").get_all("Provides-Extra") or [])
    assert set(extras[1].split(",")) - known == set()  # pip warns about an extra moto does not provide


def test_the_readme_is_short() -> None:
    lines = (ROOT / "README.md").read_text().count("\n")
    assert lines < README_MAX_LINES, f"README.md has {lines} lines: move details to docs/"


def test_the_sample_demo_output_is_current() -> None:
    """docs/SANDBOX.md shows a `make demo` run: its fix count and its A/B line say what the demo prints today."""
    sample = (ROOT / "docs" / "SANDBOX.md").read_text()
    fixes = re.search(r"^Sandbox: moto \S+ with (\d+) fixes;", sample, re.MULTILINE)
    assert fixes and int(fixes[1]) == len(FIXES)
    source = Path(demo.__file__).read_text()
    assert "orders by site variant (today), compared per order with control:" in source
    assert "orders by site variant (today), compared per order with control:" in sample
    assert re.search(r"average order [+-]\d+\.\d% vs control|sample too small to compare", sample)
    assert not re.search(r"revenue [+-]\d+\.\d% vs control", sample)  # the old line: totals of 3 orders vs 6
