"""Synthesizing the app as `make synth` does (cdk-nag on): once per test session, shared by every package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


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
    from lambdas.shared import constants

    app, _ = build_app(context=context, outdir=str(outdir))
    app.synth()
    template_path = outdir / f"{constants.STACK_NAME}.template.json"
    return Synthesized(outdir, template_path, json.loads(template_path.read_text()))


def cfn_lint(template: Path) -> subprocess.CompletedProcess[str]:
    """cfn-lint over one template; W3005 (a redundant DependsOn) is what CDK itself emits, so it is ignored."""
    executable = Path(sys.executable).parent / "cfn-lint"
    return subprocess.run(
        [str(executable), "-i", "W3005", "--", str(template)], capture_output=True, text=True, check=False
    )
