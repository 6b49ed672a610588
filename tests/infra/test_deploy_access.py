"""The deploy-access stack (infra/deploy_access.py), synthesized on its own with cdk-nag on: GitHub's OIDC
provider, roles only one repository's jobs may assume (deploys from its environments, diffs from its pull
requests), and nothing granted but assuming the CDK bootstrap roles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment
from aws_cdk import aws_iam as iam

from infra.deploy_access import DeployAccessStack
from infra.nag import enable_nag
from tests.synth import run_checkov

REPOSITORY = "octo-org/orders"
ACCOUNT, REGION = "111122223333", "eu-west-1"
STACK = "OrderProcessingDeployAccess"
ISSUER = "token.actions.githubusercontent.com"


def synthesize(outdir: Path, **props: Any) -> dict[str, Any]:
    app = App(outdir=str(outdir))
    props.setdefault("repository", REPOSITORY)
    stack = DeployAccessStack(app, STACK, env=Environment(account=ACCOUNT, region=REGION), **props)
    enable_nag(app)
    app.synth()
    report = json.loads((outdir / "validation-report.json").read_text())
    return {"stack": stack, "report": report, **json.loads((outdir / f"{STACK}.template.json").read_text())}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return synthesize(tmp_path_factory.mktemp("deploy-access"))


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def role(template: dict[str, Any], prefix: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = [(k, v) for k, v in of_type(template, "AWS::IAM::Role").items() if k.startswith(prefix)]
    return logical_id, resource["Properties"]


def bootstrap_role(kind: str) -> dict[str, Any]:
    """The ARN of a CDK bootstrap role (default qualifier) of this account and region, in the stack's partition."""
    name = f"cdk-hnb659fds-{kind}-role-{ACCOUNT}-{REGION}"
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::{ACCOUNT}:role/{name}"]]}


def granted(template: dict[str, Any], logical_id: str) -> list[dict[str, Any]]:
    """Every statement of every policy attached to the role, inline or managed."""
    statements = []
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        attached = props.get("Roles", [])
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and {"Ref": logical_id} in attached:
            statements += props["PolicyDocument"]["Statement"]
    return statements


def test_the_github_oidc_provider_trusts_only_the_sts_audience(template: dict[str, Any]) -> None:
    (provider,) = of_type(template, "AWS::IAM::OIDCProvider").values()
    assert provider["Properties"]["Url"] == f"https://{ISSUER}"
    assert provider["Properties"]["ClientIdList"] == ["sts.amazonaws.com"]
    assert provider["DeletionPolicy"] == "Retain"  # the account's one provider for this URL, maybe shared


@pytest.mark.parametrize(
    ("prefix", "subjects"),
    [
        ("DeployRole", [f"repo:{REPOSITORY}:environment:dev", f"repo:{REPOSITORY}:environment:prod"]),
        ("DiffRole", [f"repo:{REPOSITORY}:pull_request"]),
    ],
)
def test_only_the_repositorys_jobs_may_assume_the_role(
    template: dict[str, Any], prefix: str, subjects: list[str]
) -> None:
    _, props = role(template, prefix)
    (statement,) = props["AssumeRolePolicyDocument"]["Statement"]
    (provider_id,) = of_type(template, "AWS::IAM::OIDCProvider")
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {"Federated": {"Ref": provider_id}}
    # Exact matches only: no StringLike (wildcards), no ForAllValues (true when the claim is absent).
    assert statement["Condition"] == {"StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com", f"{ISSUER}:sub": subjects}}
    assert "ManagedPolicyArns" not in props and "Policies" not in props and "PermissionsBoundary" not in props


@pytest.mark.parametrize(
    ("prefix", "kinds"),
    [("DeployRole", ["deploy", "file-publishing", "image-publishing", "lookup"]), ("DiffRole", ["lookup"])],
)
def test_the_roles_only_permission_is_assuming_the_cdk_bootstrap_roles(
    template: dict[str, Any], prefix: str, kinds: list[str]
) -> None:
    logical_id, _ = role(template, prefix)
    (statement,) = granted(template, logical_id)
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRole"
    assert set(statement) == {"Effect", "Action", "Resource"}  # no NotAction, no NotResource
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    # Each names one role of this account and region, no wildcard anywhere.
    assert resources == [bootstrap_role(k) for k in kinds]


def test_the_bootstrap_role_arns_follow_the_partition_and_qualifier(tmp_path: Path) -> None:
    app = App(context={"@aws-cdk/core:bootstrapQualifier": "orders1"}, outdir=str(tmp_path))
    stack = DeployAccessStack(app, STACK, repository=REPOSITORY)  # environment-agnostic: any partition
    arn = json.dumps(stack.resolve(stack.bootstrap_role_arn("deploy")))
    assert '{"Ref": "AWS::Partition"}' in arn
    assert ":role/cdk-orders1-deploy-role-" in arn


def test_cdk_nag_finds_nothing_and_nothing_is_acknowledged(template: dict[str, Any]) -> None:
    reports = template["report"]["pluginReports"]
    assert [v for r in reports for v in r.get("violations", [])] == []
    assert [s for r in reports for s in r.get("suppressedViolations", [])] == []


def test_cdk_nag_does_check_this_stack(tmp_path: Path) -> None:
    """The clean report above is not vacuous: a role with a managed admin policy fails the same synth."""
    app = App(outdir=str(tmp_path))
    stack = DeployAccessStack(app, STACK, repository=REPOSITORY)
    iam.Role(stack, "TooBroad", assumed_by=iam.AccountRootPrincipal()).add_managed_policy(
        iam.ManagedPolicy.from_aws_managed_policy_name("AdministratorAccess")
    )
    enable_nag(app)
    with pytest.raises(Exception, match=r"AwsSolutions-IAM4\[Policy::.*AdministratorAccess\]"):
        app.synth()


def test_checkov_finds_nothing(template: dict[str, Any]) -> None:
    outdir = Path(template["stack"].node.root.outdir)
    report = run_checkov([outdir / f"{STACK}.template.json"], outdir)
    assert report["results"]["failed_checks"] == []
    assert report["summary"]["passed"] > 10, report["summary"]


def test_an_existing_provider_is_reused_not_created(tmp_path: Path) -> None:
    arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"
    template = synthesize(tmp_path, oidc_provider_arn=arn)
    assert of_type(template, "AWS::IAM::OIDCProvider") == {}
    _, props = role(template, "DeployRole")
    assert props["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Federated": arn}


def test_immutable_subject_claims_and_other_environments(tmp_path: Path) -> None:
    repository = "octo-org@123456/orders@789012"
    template = synthesize(tmp_path, repository=repository, environments=["staging", "prod"])
    _, props = role(template, "DeployRole")
    (statement,) = props["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Condition"]["StringEquals"][f"{ISSUER}:sub"] == [
        f"repo:{repository}:environment:staging",
        f"repo:{repository}:environment:prod",
    ]


@pytest.mark.parametrize("repository", ["octo-org/*", "octo-org", "*", "octo-org/orders:ref:refs/heads/main", ""])
def test_a_repository_that_is_not_one_exact_name_is_refused(repository: str) -> None:
    with pytest.raises(ValueError, match="githubRepository"):
        DeployAccessStack(App(), STACK, repository=repository)


@pytest.mark.parametrize("environments", [[], ["prod", "*"], ["dev:ref"]])
def test_environments_must_be_plain_names(environments: list[str]) -> None:
    with pytest.raises(ValueError, match="environment names"):
        DeployAccessStack(App(), STACK, repository=REPOSITORY, environments=environments)


def test_the_app_adds_the_deploy_access_stack_only_when_a_repository_is_named(tmp_path: Path) -> None:
    from app import build_app

    without, _ = build_app(outdir=str(tmp_path / "plain"))
    assert [s.stack_name for s in without.node.children if hasattr(s, "stack_name")] == ["OrderProcessing"]
    named, _ = build_app({"githubRepository": "octo-org/orders"}, outdir=str(tmp_path / "named"))
    stacks = {s.stack_name for s in named.node.children if hasattr(s, "stack_name")}
    assert stacks == {"OrderProcessing", "OrderProcessingDeployAccess"}
