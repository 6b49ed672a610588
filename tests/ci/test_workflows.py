"""The GitHub Actions workflows (.github/): actionlint finds nothing (with shellcheck on their scripts), every
action is pinned by commit, and AWS is reached only through the OIDC role of a stage's deploy job.

actionlint and shellcheck come from the project's venv (pinned in requirements-dev.txt): no network."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ACTIONLINT = BIN / "actionlint"
SHELLCHECK = BIN / "shellcheck"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONS = sorted((ROOT / ".github" / "actions").glob("*/action.yml"))
CREDENTIALS_ACTION = "aws-actions/configure-aws-credentials"
# owner/repo[/path]@<full commit sha> # v<major>.<minor>.<patch>
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def actionlint(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    assert ACTIONLINT.exists(), f"{ACTIONLINT} is missing: `make setup` installs it (requirements-dev.txt)"
    shellcheck = str(SHELLCHECK) if SHELLCHECK.exists() else ""  # "" turns the integration off
    command = [str(ACTIONLINT), "-no-color", "-oneline", f"-shellcheck={shellcheck}", "-pyflakes=", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, timeout=120)


def load(path: Path) -> dict[Any, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict), path
    return document


def steps(path: Path) -> list[dict[str, Any]]:
    document = load(path)
    if "runs" in document:
        return document["runs"]["steps"]
    return [step for job in document["jobs"].values() for step in job.get("steps", [])]


def test_there_are_workflows_to_check() -> None:
    assert {p.name for p in WORKFLOWS} >= {"pull-request.yml", "deploy.yml", "deploy-stage.yml"}


def test_actionlint_finds_nothing() -> None:
    result = actionlint(*(str(p.relative_to(ROOT)) for p in WORKFLOWS))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_actionlint_does_report_a_broken_workflow(tmp_path: Path) -> None:
    """The clean run above is not vacuous: an unknown runner, an untrusted expression in a script and an
    unquoted variable (shellcheck, when it is installed) are each reported."""
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: linux-latest\n    steps:\n"
        "      - run: echo $1 ${{ github.event.head_commit.message }}\n"
    )
    result = actionlint(str(broken.relative_to(tmp_path)), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[runner-label]" in result.stdout
    assert "potentially untrusted" in result.stdout
    if SHELLCHECK.exists():
        assert "SC2086" in result.stdout


@pytest.mark.parametrize("path", WORKFLOWS + ACTIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_action_is_pinned_by_commit_with_its_version(path: Path) -> None:
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip().startswith("- uses:")]
    remote = [line.removeprefix("- uses:").strip() for line in lines if "uses: ./" not in line]
    assert remote or path in WORKFLOWS, path
    unpinned = [uses for uses in remote if not PINNED.fullmatch(uses)]
    assert not unpinned, f"pin by full commit SHA with '# vX.Y.Z': {unpinned}"


def test_one_version_of_each_action() -> None:
    pins: dict[str, set[str]] = {}
    for path in WORKFLOWS + ACTIONS:
        for step in steps(path):
            if "uses" in step and not step["uses"].startswith("./"):
                action, ref = step["uses"].split("@")
                pins.setdefault(action, set()).add(ref)
    assert pins and all(len(refs) == 1 for refs in pins.values()), pins


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_aws_only_through_oidc_in_jobs_that_ask_for_a_token(path: Path) -> None:
    text = path.read_text()
    assert "secrets." not in text and "aws-access-key-id" not in text and "aws-secret-access-key" not in text
    workflow = load(path)
    assert workflow["permissions"] == {}, "each job grants itself what it needs"
    for name, job in workflow["jobs"].items():
        where = f"{path.name}:{name}"
        assert job["permissions"].get("contents") == "read", where
        if "uses" in job:  # a call of a local reusable workflow: it grants what the called jobs ask, no more
            called = load(ROOT / job["uses"])["jobs"].values()
            assert job["permissions"] == {k: v for c in called for k, v in c["permissions"].items()}, where
            continue
        assumes = [s for s in job["steps"] if s.get("uses", "").startswith(CREDENTIALS_ACTION + "@")]
        assert job["permissions"].get("id-token") == ("write" if assumes else None), where
        for step in assumes:
            assert set(step["with"]) >= {"role-to-assume", "aws-region"}, where


def test_pull_requests_test_and_diff_each_stage_read_only() -> None:
    workflow = load(ROOT / ".github" / "workflows" / "pull-request.yml")
    assert workflow[True]["pull_request"]["branches"] == ["main"]  # YAML 1.1 reads the key `on` as True
    assert any(s.get("run") == "make test" for s in workflow["jobs"]["test"]["steps"])
    diff = workflow["jobs"]["diff"]
    assert diff["strategy"]["matrix"]["stage"] == ["dev", "prod"]
    assert "environment" not in diff  # the pull_request subject: DiffRole, the lookup role only
    assert "github.event.pull_request.head.repo.full_name == github.repository" in diff["if"]
    (run,) = [s["run"] for s in diff["steps"] if "run" in s]
    assert run == 'npx cdk diff --all --method=template -c "stage=$STAGE"'
    assert diff["env"]["STAGE"] == "${{ matrix.stage }}"


def test_main_deploys_dev_then_prod_each_in_its_environment() -> None:
    workflow = load(ROOT / ".github" / "workflows" / "deploy.yml")
    assert workflow[True] == {"push": {"branches": ["main"]}}
    assert workflow["concurrency"]["cancel-in-progress"] is False
    jobs = workflow["jobs"]
    assert any(s.get("run") == "make test" for s in jobs["test"]["steps"])
    assert (jobs["dev"]["needs"], jobs["prod"]["needs"]) == ("test", "dev")
    for stage in ("dev", "prod"):
        assert jobs[stage]["uses"] == "./.github/workflows/deploy-stage.yml"
        assert jobs[stage]["with"] == {"stage": stage}
    (deploy,) = load(ROOT / ".github" / "workflows" / "deploy-stage.yml")["jobs"].values()
    assert deploy["environment"] == "${{ inputs.stage }}"  # the subject DeployRole trusts; prod's reviewers
    assert deploy["env"]["STAGE"] == "${{ inputs.stage }}"
    (run,) = [s["run"] for s in deploy["steps"] if "run" in s]
    assert run == 'npx cdk deploy --all --require-approval never --progress events -c "stage=$STAGE"'
