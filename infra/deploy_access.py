"""Deploy access for GitHub Actions: the account's GitHub OIDC provider and two roles, no stored keys.

One small stack per AWS account (and region) that the pipeline deploys to, deployed once by a person
(``npx cdk deploy -c githubRepository=owner/name OrderProcessingDeployAccess``) after ``cdk bootstrap``:

- ``DeployRole``: assumed by the repository's jobs that run in one of its deployment environments
  (``dev``, ``prod``: the ``sub`` claim is ``repo:<repository>:environment:<name>``). Give those GitHub
  environments a deployment branch policy (``main`` only) and ``prod`` its required reviewers: that is
  what makes "on main, dev, then prod behind an approval" true, since the claim itself names no branch.
- ``DiffRole``: assumed by the repository's pull-request jobs (``repo:<repository>:pull_request``) for
  ``cdk diff --method=template``. It reaches only the read-only CDK lookup role, so the code of a pull
  request can read the deployed templates but never deploy (GitHub gives forks' pull requests no token).

Neither role may do anything but ``sts:AssumeRole`` on the CDK bootstrap roles of this account and region
(named one by one, no wildcard): what a deploy may change is decided by the bootstrap's CloudFormation
execution role, as with a person's ``cdk deploy``. The audience is ``sts.amazonaws.com``, matched exactly,
and so is every subject (``StringEquals``, never ``StringLike``): a repository, an environment or a pull
request of another repository matches nothing.

``repository`` is the ``sub`` claim's repository part exactly as GitHub emits it: ``owner/name`` or, for a
repository emitting immutable subject claims, ``owner@<org id>/name@<repo id>``.
An account that already has GitHub's provider (one per account) passes its ARN (``githubOidcProviderArn``)
and the stack reuses it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from aws_cdk import CfnOutput, DefaultStackSynthesizer, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"
DEFAULT_DEPLOY_ENVIRONMENTS = ("dev", "prod")
# The CDK bootstrap roles a deploy needs: the deploy role runs CloudFormation, the publishing roles upload
# assets, the lookup role reads (context lookups, `cdk diff --method=template`).
BOOTSTRAP_ROLE_KINDS = ("deploy", "file-publishing", "image-publishing", "lookup")
DIFF_ROLE_KINDS = ("lookup",)
QUALIFIER_CONTEXT = "@aws-cdk/core:bootstrapQualifier"

# A GitHub owner or repository name (letters, digits, '-', '_', '.'), optionally '@<numeric id>'.
_NAME = r"[A-Za-z0-9_.-]+(?:@[0-9]+)?"
REPOSITORY_PATTERN = re.compile(rf"{_NAME}/{_NAME}")
ENVIRONMENT_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")


def subject(repository: str, context: str) -> str:
    """The ``sub`` claim of a job of ``repository``: ``context`` is ``environment:NAME``, ``pull_request``..."""
    return f"repo:{repository}:{context}"


class DeployAccessStack(Stack):
    """GitHub's OIDC provider, the pipeline's deploy role and its pull requests' diff role."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        repository: str,
        environments: Sequence[str] = DEFAULT_DEPLOY_ENVIRONMENTS,
        oidc_provider_arn: str | None = None,
        **kwargs: Any,  # StackProps (env, description, ...)
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        if not REPOSITORY_PATTERN.fullmatch(repository):
            raise ValueError(
                f"githubRepository must be 'owner/name' (or 'owner@<id>/name@<id>'), exactly as in the "
                f"token's sub claim, with no wildcard: got {repository!r}"
            )
        bad = [name for name in environments if not ENVIRONMENT_PATTERN.fullmatch(name)]
        if not environments or bad:
            raise ValueError(f"GitHub environment names must be plain names, at least one: got {list(environments)}")

        provider = self._provider(oidc_provider_arn)
        deploy_role = self._role(
            "DeployRole",
            provider,
            [subject(repository, f"environment:{name}") for name in environments],
            BOOTSTRAP_ROLE_KINDS,
            f"GitHub Actions deploys of {repository} (environments {', '.join(environments)}): "
            "may only assume the CDK bootstrap roles",
        )
        diff_role = self._role(
            "DiffRole",
            provider,
            [subject(repository, "pull_request")],
            DIFF_ROLE_KINDS,
            f"GitHub Actions pull requests of {repository}: cdk diff, may only assume the CDK lookup role",
        )
        CfnOutput(self, "DeployRoleArn", value=deploy_role.role_arn, description="vars.AWS_DEPLOY_ROLE_ARN")
        CfnOutput(self, "DiffRoleArn", value=diff_role.role_arn, description="vars.AWS_DIFF_ROLE_ARN")

    def _provider(self, existing_arn: str | None) -> iam.IOidcProvider:
        if existing_arn:
            return iam.OidcProviderNative.from_oidc_provider_arn(self, "GitHubOidcProvider", existing_arn)
        # Native AWS::IAM::OIDCProvider (no custom resource). No thumbprint: IAM trusts GitHub's CA itself.
        # Retained: other roles of the account may trust the account's one provider for this URL.
        return iam.OidcProviderNative(
            self,
            "GitHubOidcProvider",
            url=f"https://{GITHUB_OIDC_HOST}",
            client_ids=[GITHUB_OIDC_AUDIENCE],
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _role(
        self,
        construct_id: str,
        provider: iam.IOidcProvider,
        subjects: list[str],
        kinds: Sequence[str],
        description: str,
    ) -> iam.Role:
        principal = iam.WebIdentityPrincipal(
            provider.oidc_provider_arn,
            conditions={
                "StringEquals": {
                    f"{GITHUB_OIDC_HOST}:aud": GITHUB_OIDC_AUDIENCE,
                    f"{GITHUB_OIDC_HOST}:sub": subjects,
                }
            },
        )
        role = iam.Role(self, construct_id, assumed_by=principal, description=description)
        role.add_to_policy(
            iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[self.bootstrap_role_arn(k) for k in kinds])
        )
        return role

    def bootstrap_role_arn(self, kind: str) -> str:
        """The ARN of the CDK bootstrap role ``kind`` (deploy, lookup...) of this stack's account and region."""
        qualifier = self.node.try_get_context(QUALIFIER_CONTEXT) or DefaultStackSynthesizer.DEFAULT_QUALIFIER
        return self.format_arn(
            service="iam",
            region="",
            resource="role",
            resource_name=f"cdk-{qualifier}-{kind}-role-{self.account}-{self.region}",
        )
