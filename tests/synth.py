"""Synthesizing the app as `make synth` does (cdk-nag on): once per test session, shared by every package."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# checkov runs offline (``--skip-download``) from its own pinned venv (.venv-checkov, made by `make setup`).
CHECKOV = Path(__file__).resolve().parents[1] / ".venv-checkov" / "bin" / "checkov"


@dataclass(frozen=True)
class Synthesized:
    outdir: Path
    template_path: Path
    template: dict[str, Any]

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == resource_type}

    def one(self, resource_type: str) -> dict[str, Any]:
        found = list(self.resources(resource_type).values())
        assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
        return found[0]


def synthesize(outdir: Path, context: dict[str, Any] | None = None) -> Synthesized:
    from app import build_app

    app, _ = build_app(context=context, outdir=str(outdir))
    app.synth()
    return synthesized_in(outdir)


def synthesized_in(outdir: Path) -> Synthesized:
    """The default stage's template, as a synth left it in ``outdir``."""
    from lambdas.shared import constants

    template_path = outdir / f"{constants.STACK_NAME}.template.json"
    return Synthesized(outdir, template_path, json.loads(template_path.read_text()))


def synthesized_once(outdir: Path) -> Synthesized:
    """The app synthesized into ``outdir`` by the first process to ask (under a lock), read by the others."""
    done = outdir.with_name(outdir.name + ".done")
    with locked(outdir.with_name(outdir.name + ".lock")):
        if not done.exists():
            synthesize(outdir)
            done.touch()
    return synthesized_in(outdir)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (pytest-xdist's workers), held for the block."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def cfn_lint(template: Path, regions: str = "ALL_REGIONS") -> subprocess.CompletedProcess[str]:
    """cfn-lint over one template, in every region unless told; W3005 (a redundant DependsOn) is what CDK itself
    emits, so it is ignored. Run once per template content and arguments in a test run (see ``checked``)."""
    executable = Path(sys.executable).parent / "cfn-lint"
    return checked([str(executable), "-i", "W3005", "--regions", regions, "--", str(template)], [template])


def run_checkov(templates: list[Path], cwd: Path) -> dict[str, Any]:
    """checkov's JSON report over the templates (from its own venv, offline), run once per their contents."""
    assert CHECKOV.exists(), f"{CHECKOV} is missing: `make setup` makes it"
    command = [str(CHECKOV), "--framework", "cloudformation", "--skip-download", "--output", "json", "--compact"]
    for template in templates:
        command += ["--file", str(template)]
    result = checked(command, templates, cwd=cwd, timeout=300)
    assert result.stdout, result.stderr
    report = json.loads(result.stdout)
    (report,) = report if isinstance(report, list) else [report]  # one framework: one report
    return report


def checkov_assembly(synthesized: Synthesized) -> dict[str, Any]:
    """checkov's report over every template of the assembly: every stack, in every stage."""
    templates = sorted(synthesized.outdir.rglob("*.template.json"))
    assert synthesized.template_path in templates
    return run_checkov(templates, synthesized.outdir)


def checked(
    command: list[str], templates: list[Path], cwd: Path | None = None, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """A checker's run over templates, remembered beside their directory under a digest of the command and the
    templates' bytes: infra and back-office tests lint the same synthesized template, maybe in two processes
    (pytest-xdist), and a scan costs seconds to a minute; a changed template or argument runs it again."""
    digest = hashlib.sha256(json.dumps([command, str(cwd)]).encode())
    for template in templates:
        digest.update(template.read_bytes())
    store = templates[0].parent.with_name(templates[0].parent.name + ".checked")
    store.mkdir(exist_ok=True)
    remembered = store / f"{digest.hexdigest()}.json"
    with locked(remembered.with_suffix(".lock")):
        if remembered.exists():
            saved = json.loads(remembered.read_text())
            return subprocess.CompletedProcess(command, saved["returncode"], saved["stdout"], saved["stderr"])
        result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=cwd, timeout=timeout)
        fields = {"returncode": result.returncode, "stdout": result.stdout, "stderr": result.stderr}
        remembered.write_text(json.dumps(fields))
        return result
