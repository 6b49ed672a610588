"""On the way to production (issue 14): `make deploy` needs no terminal and keeps the profile's region, `make destroy`
exists, Dependabot watches every ecosystem, pre-commit runs the local checks, and the LICENSE suits a reference
system people copy. Make is only ever run with -n here: nothing is executed, nothing installed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
# The region variables the AWS CLI, the SDKs and the CDK CLI read: none may be set for a target that reaches AWS.
REGION_VARIABLES = ("AWS_DEFAULT_REGION", "AWS_REGION", "CDK_DEFAULT_REGION")
# A makefile read after the project's: its target shows the region variables as make sees them for the target it
# is a prerequisite of (target-specific variables, exports included, reach a target's prerequisites).
PROBE = "region-probe:\n\t@echo " + " ".join(f"{v}=[$({v})]" for v in REGION_VARIABLES) + "\n"
AWS_TARGETS = ("deploy", "diff", "watch", "destroy", "seed")


def dry_run(*args: str, probe: Path | None = None) -> str:
    """`make -n ARGS` in a shell without any region variable (as a user's shell with only a profile)."""
    environment = {k: v for k, v in os.environ.items() if k not in REGION_VARIABLES}
    files = ["-f", "Makefile", "-f", str(probe)] if probe else []
    command = ["make", "--no-print-directory", "-n", *files, *args]
    done = subprocess.run(
        command, cwd=ROOT, env=environment, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def probed_regions(tmp_path: Path, target: str) -> str:
    probe = tmp_path / "probe.mk"
    probe.write_text(PROBE + f"{target}: region-probe\n")
    (line,) = [line for line in dry_run(target, probe=probe).splitlines() if line.startswith("echo AWS_DEFAULT_REGION")]
    return line.removeprefix("echo ")


def test_make_deploy_takes_the_stage_and_an_approval_level_that_needs_no_terminal() -> None:
    assert "npx cdk deploy -c stage=prod --require-approval never" in dry_run("deploy", "STAGE=prod", "APPROVAL=never")
    assert "npx cdk deploy -c stage=dev --require-approval broadening" in dry_run("deploy")  # the defaults


def test_make_destroy_destroys_the_stage() -> None:
    assert "npx cdk destroy -c stage=prod" in dry_run("destroy", "STAGE=prod")


@pytest.mark.parametrize("target", AWS_TARGETS)
def test_targets_that_reach_aws_set_no_region(tmp_path: Path, target: str) -> None:
    # `export AWS_DEFAULT_REGION ?= eu-west-1` sent deploys to a region the user never bootstrapped.
    assert probed_regions(tmp_path, target) == " ".join(f"{v}=[]" for v in REGION_VARIABLES)


def test_the_probe_sees_the_offline_targets_default_region(tmp_path: Path) -> None:
    # The sandbox's account lives in a region: the offline targets get one, so the probe can see a region.
    assert "AWS_DEFAULT_REGION=[eu-west-1]" in probed_regions(tmp_path, "demo")


def load(path: str) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / path).read_text())
    assert isinstance(document, dict), path
    return document


def test_dependabot_updates_pip_npm_and_every_workflows_actions() -> None:
    updates = load(".github/dependabot.yml")["updates"]
    watched = {u["package-ecosystem"]: [*u.get("directories", []), u.get("directory")] for u in updates}
    assert set(watched) == {"pip", "npm", "github-actions"}
    assert "/" in watched["pip"] and "/" in watched["npm"]  # requirements*.txt, package.json beside the Makefile
    assert "/" in watched["github-actions"] and "/.github/actions/*" in watched["github-actions"]
    for update in updates:
        assert update["schedule"]["interval"] in ("daily", "weekly"), update


def test_pre_commit_runs_ruff_and_the_type_check_from_the_projects_venv() -> None:
    (repo,) = load(".pre-commit-config.yaml")["repos"]
    assert repo["repo"] == "local"  # no hook is downloaded: the pinned tools of requirements-dev.txt run
    hooks = {hook["id"]: hook for hook in repo["hooks"]}
    entries = {hook_id: hook["entry"].split() for hook_id, hook in hooks.items()}
    assert entries["ruff-check"][:2] == [".venv/bin/ruff", "check"]
    assert entries["ruff-format"][:3] == [".venv/bin/ruff", "format", "--check"]
    # mypy checks what pyproject.toml names (the `make typecheck` files), once per commit, not per file.
    assert entries["typecheck"] == [".venv/bin/mypy"] and hooks["typecheck"]["pass_filenames"] is False
    makefile = (ROOT / "Makefile").read_text()
    assert "\t$(VENV)/bin/mypy\n" in makefile  # the same command as `make typecheck`
    for hook_id, entry in entries.items():
        assert (ROOT / entry[0]).exists(), f"{hook_id}: {entry[0]} is missing (make setup installs it)"
        assert hooks[hook_id]["language"] == "system", hook_id


def test_the_license_is_mit_no_attribution() -> None:
    # Code people copy into their own systems: MIT-0 asks for no notice in what they ship, and disclaims warranty.
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT No Attribution\n")
    assert "without restriction" in text and "WITHOUT WARRANTY OF ANY KIND" in text
    assert "above copyright notice and this permission notice shall be included" not in text  # plain MIT's condition


def test_the_readme_says_what_to_do_before_the_first_real_order() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Before the first real order") :].split("\n#", 1)[0]
    for said in (
        "STAGE=prod",  # stages side by side
        "onCallEmail",  # alarms reach nobody until it is set
        "reach nobody",
        "production access",  # SES sandbox: only verified recipients
        "put-account-details --production-access-enabled",
        "events:PutEvents",  # what the bus policy grants other accounts
        "targets its own bus",  # how another account really receives our events
        "docs/SUBSCRIBERS.md",
    ):
        assert said in section, said
