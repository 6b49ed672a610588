"""cdk-nag AwsSolutions is clean (nothing unacknowledged) and cfn-lint finds no error."""

from __future__ import annotations

import json

from tests.synth import Synthesized, cfn_lint


def test_cdk_nag_has_no_unacknowledged_findings(synthesized: Synthesized) -> None:
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    (plugin,) = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    assert plugin["violations"] == []
    assert plugin["conclusion"] == "success"


def test_every_acknowledgment_gives_a_real_reason(synthesized: Synthesized) -> None:
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    suppressed = [s for p in report["pluginReports"] for s in p.get("suppressedViolations", [])]
    assert suppressed, "expected the documented acknowledgments to be in the report"
    for finding in suppressed:
        reason = finding.get("reason") or finding.get("suppressionReason") or json.dumps(finding)
        assert len(reason) >= 60, f"{finding['ruleName']}: reason too thin: {reason!r}"


def test_cfn_lint_reports_no_errors(synthesized: Synthesized) -> None:
    # W3005 (redundant DependsOn) is what CDK itself emits; everything else must be clean.
    result = cfn_lint(synthesized.template_path)
    assert result.returncode == 0, result.stdout + result.stderr
