"""The back-office in the synthesized template: user pool and groups, the Cognito-authorised routes,
the private bucket behind CloudFront with origin access control and security headers, the page's
deployment; cdk-nag, cfn-lint and checkov clean. Read from the session's synthesized app (tests/conftest.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from infra.backoffice import GROUPS, ROUTES
from tests.synth import Synthesized, cfn_lint, checkov_assembly

REPO = Path(__file__).resolve().parents[2]


def test_user_pool_groups_and_page_client(synthesized: Synthesized) -> None:
    pool = synthesized.one("AWS::Cognito::UserPool")["Properties"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    groups = {g["Properties"]["GroupName"] for g in synthesized.resources("AWS::Cognito::UserPoolGroup").values()}
    assert groups == set(GROUPS)
    client = synthesized.one("AWS::Cognito::UserPoolClient")["Properties"]
    assert client["GenerateSecret"] is False and "ALLOW_USER_PASSWORD_AUTH" in client["ExplicitAuthFlows"]


def test_every_back_office_method_is_behind_the_cognito_authoriser(synthesized: Synthesized) -> None:
    (authorizer_id,) = [
        k
        for k, v in synthesized.resources("AWS::ApiGateway::Authorizer").items()
        if v["Properties"]["Type"] == "COGNITO_USER_POOLS"
    ]
    methods = [
        m["Properties"]
        for m in synthesized.resources("AWS::ApiGateway::Method").values()
        if m["Properties"].get("AuthorizerId") == {"Ref": authorizer_id}
    ]
    assert sorted(m["HttpMethod"] for m in methods) == sorted(method for _, ms in ROUTES for method in ms)
    assert all(m["AuthorizationType"] == "COGNITO_USER_POOLS" for m in methods)
    unauthenticated = [
        m["Properties"]["HttpMethod"]
        for m in synthesized.resources("AWS::ApiGateway::Method").values()
        if m["Properties"]["AuthorizationType"] == "NONE"
    ]
    assert set(unauthenticated) <= {"OPTIONS"}


def test_private_bucket_behind_cloudfront_with_origin_access_control_and_security_headers(
    synthesized: Synthesized,
) -> None:
    buckets = [
        b["Properties"]
        for b in synthesized.resources("AWS::S3::Bucket").values()
        if "WebsiteConfiguration" not in b["Properties"]
    ]
    assert buckets and all(
        b["PublicAccessBlockConfiguration"]
        == dict.fromkeys(("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True)
        for b in buckets
    )
    assert (
        synthesized.one("AWS::CloudFront::OriginAccessControl")["Properties"]["OriginAccessControlConfig"][
            "SigningBehavior"
        ]
        == "always"
    )
    distribution = synthesized.one("AWS::CloudFront::Distribution")["Properties"]["DistributionConfig"]
    assert distribution["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert distribution["DefaultRootObject"] == "index.html"
    headers = synthesized.one("AWS::CloudFront::ResponseHeadersPolicy")["Properties"]["ResponseHeadersPolicyConfig"]
    security = headers["SecurityHeadersConfig"]
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31_536_000
    csp = json.dumps(security["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert synthesized.resources("Custom::CDKBucketDeployment")


def test_cdk_nag_clean_with_reasons(synthesized: Synthesized) -> None:
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    (plugin,) = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    assert plugin["violations"] == [], json.dumps(plugin["violations"], indent=1)[:4000]


def test_cfn_lint_clean(synthesized: Synthesized) -> None:
    result = cfn_lint(synthesized.template_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_clean(synthesized: Synthesized) -> None:
    report = checkov_assembly(synthesized)  # the same scan as tests/infra/test_checkov's, run once
    failed = [f"{f['check_id']} {f['resource']}: {f['check_name']}" for f in report["results"]["failed_checks"]]
    assert not failed, "\n".join(failed)
