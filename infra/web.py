"""The back-office page: web/ in a private S3 bucket, served only through CloudFront (origin access control),
every response with security headers, deployed with its config.json (API URL, user pool client).

    web = BackOfficeWeb(scope, "Web")                 # the bucket and the distribution (its origin: web.origin)
    web.deploy(api_url=..., region=..., user_pool_client_id=...)   # the page and its config

The page is static (HTML, CSS, vanilla JS; no CDN, no build step): the deployment copies web/ as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aws_cdk import Acknowledgment, CfnResource, Duration, RemovalPolicy, Stack, Token, Validations
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct, IConstruct

from infra.functions import log_group_key, log_retention

WEB_ROOT: Final = Path(__file__).resolve().parent.parent / "web"
CONFIG_FILE: Final = "config.json"
PACK = "AwsSolutions::"


def _ack(construct: IConstruct, finding: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=PACK + finding, reason=reason))


# checkov's findings we accept here, each with its reason (infra/checkov.py writes the stack's others).
BUCKET_LOGS: Final = (
    "Holds one static page copied from the repository by the deployment; only CloudFront (origin access "
    "control) reads it and only the deployment writes it, both recorded by CloudFormation and CloudTrail."
)
NO_WAF: Final = (
    "Serves three static files with no data (every read of data goes to the API behind Cognito sign-in and "
    "stage throttling); a web ACL would cost a month's fee to guard files anyone may read."
)
DISTRIBUTION_LOGS: Final = (
    "Standard logging needs an ACL-enabled log bucket; the page's files are the same for everyone, and every "
    "data access is in the API's access log."
)
DEFAULT_CERTIFICATE: Final = (
    "Uses CloudFront's default *.cloudfront.net certificate, whose viewer security policy CloudFront fixes; "
    "TLS 1.2 minimum needs a custom domain and certificate, which this reference stack does not own."
)
DEPLOYMENT_HANDLER: Final = (
    "CDK's BucketDeployment handler (aws-cdk-lib's code, not ours), invoked only by CloudFormation as a custom "
    "resource while the page is deployed: synchronous (CloudFormation reports a failure and rolls back), no VPC "
    "resource to reach, no secret in its environment, concurrency of one deployment at a time."
)
DEPLOYMENT_HANDLER_CHECKS: Final = ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173")


def _checkov_skips(resource: object, skips: dict[str, str]) -> None:
    assert isinstance(resource, CfnResource)
    resource.add_metadata("checkov", {"skip": [{"id": k, "comment": v} for k, v in sorted(skips.items())]})


def content_security_policy(api_origin: str, cognito_origin: str) -> str:
    """Only our own files; the page talks to the API and Cognito only; no frames, no forms elsewhere."""
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self' {api_origin} {cognito_origin}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        )
    )


class BackOfficeWeb(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.RETAIN,
        )
        _ack(
            self.bucket,
            "AwsSolutions-S1",
            "The bucket holds one static page copied from the repository by the deployment; nobody reads it but "
            "CloudFront (origin access control) and nobody writes it but the deployment. Who changed it is in "
            "CloudFormation's and CloudTrail's records; server access logs would add a second bucket of noise.",
        )
        api_origin = f"https://*.execute-api.{stack.region}.{stack.url_suffix}"
        cognito_origin = f"https://cognito-idp.{stack.region}.{stack.url_suffix}"
        self.headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="Back-office page: CSP (own files, API and Cognito only), HSTS, no framing, no sniffing",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=content_security_policy(api_origin, cognito_origin), override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365), include_subdomains=True, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
            ),
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Back-office page for payment reviewers and operators",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                response_headers_policy=self.headers,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
        )
        for finding, reason in (
            (
                "AwsSolutions-CFR1",
                "Reviewers and operators may work from anywhere; the page itself holds no data (every read goes "
                "to the API, behind Cognito sign-in), so a geographic restriction would protect nothing.",
            ),
            (
                "AwsSolutions-CFR2",
                "A static page of three files with no data: WAF would cost a web ACL per month to guard files anyone "
                "may read. The data is behind the API's Cognito authoriser and stage throttling.",
            ),
            (
                "AwsSolutions-CFR3",
                "Standard logging needs an ACL-enabled log bucket (object ownership not enforced); the page's files "
                "are the same for everyone, and every data access is logged by the API's access log instead.",
            ),
            (
                "AwsSolutions-CFR4",
                "The distribution uses CloudFront's default *.cloudfront.net certificate, whose viewer security policy "
                "CloudFront fixes (TLSv1 allowed); TLS 1.2 minimum needs a custom domain and certificate, which this "
                "reference stack does not own. HSTS is sent on every response.",
            ),
        ):
            _ack(self.distribution, finding, reason)
        self.url = f"https://{self.distribution.distribution_domain_name}"
        _checkov_skips(self.bucket.node.default_child, {"CKV_AWS_18": BUCKET_LOGS})
        _checkov_skips(
            self.distribution.node.default_child,
            {"CKV_AWS_68": NO_WAF, "CKV_AWS_86": DISTRIBUTION_LOGS, "CKV_AWS_174": DEFAULT_CERTIFICATE},
        )

    def deploy(
        self, *, api_url: str, region: str, user_pool_client_id: str, log_retention_days: int
    ) -> s3deploy.BucketDeployment:
        """Copy web/ and its config.json into the bucket; invalidate the distribution's cache.

        CDK's handler runs under a role of ours that CDK may not add to (``without_policy_updates``): no
        AWSLambdaBasicExecutionRole (which may write any log group), and each grant written here, narrowed
        where CDK's is not: its own log group only, invalidations of this distribution only.
        """
        stack = Stack.of(self)
        config = {
            "apiUrl": api_url,
            "region": region,
            "userPoolClientId": user_pool_client_id,
            "cognitoUrl": f"https://cognito-idp.{region}.{stack.url_suffix}/",
        }
        # Its handler's log, like every function's: retention and a customer-managed key.
        log_group = logs.LogGroup(
            self,
            "PageDeploymentLogs",
            retention=log_retention(log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
            encryption_key=log_group_key(
                self, "PageDeploymentLogKey", "Encrypts the back-office page deployment's log"
            ),
        )
        role = iam.Role(
            self,
            "PageDeploymentRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="CDK's BucketDeployment handler: copies the back-office page into its bucket",
        )
        page = s3_assets.Asset(self, "PageFiles", path=str(WEB_ROOT))
        deployment = s3deploy.BucketDeployment(
            self,
            "Page",
            sources=[
                s3deploy.Source.bucket(page.bucket, page.s3_object_key),
                s3deploy.Source.json_data(CONFIG_FILE, config),
            ],
            destination_bucket=self.bucket,
            distribution=self.distribution,
            distribution_paths=["/*"],
            prune=True,
            retain_on_delete=False,
            role=role.without_policy_updates(),
            log_group=log_group,
        )
        # What CDK would grant, written here: read the CDK assets bucket (the page's zip and config.json),
        # replace the page's objects (prune), invalidate this distribution, write its own log group.
        page.grant_read(role)
        self.bucket.grant_read_write(role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"],
                resources=[self.distribution.distribution_arn],
            )
        )
        log_group.grant_write(role)
        deployment.node.add_dependency(role)  # its policy is in place before CloudFormation runs the handler
        _acknowledge_deployment_role(role, stack)
        _acknowledge_deployment_handler(stack)
        return deployment


def _assets_bucket_objects(stack: Stack) -> str:
    """The CDK assets bucket's objects as cdk-nag names them: a known region or partition appears as itself."""
    partition = "<AWS::Partition>" if Token.is_unresolved(stack.partition) else stack.partition
    region = "<AWS::Region>" if Token.is_unresolved(stack.region) else stack.region
    return f"arn:{partition}:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-{region}/*"


def _acknowledge_deployment_handler(stack: Stack) -> None:
    """CDK's BucketDeployment handler: one function per stack, run by CloudFormation during deployments."""
    for child in stack.node.children:
        if not child.node.id.startswith("Custom::CDKBucketDeployment"):
            continue
        _ack(
            child,
            "AwsSolutions-L1",
            "The runtime of CDK's BucketDeployment handler is chosen by aws-cdk-lib (it ships the handler and "
            "its AWS CLI layer together); a CDK upgrade moves it, not this stack.",
        )
        for node in child.node.find_all():
            if isinstance(node, CfnResource) and node.cfn_resource_type == "AWS::Lambda::Function":
                _checkov_skips(node, dict.fromkeys(DEPLOYMENT_HANDLER_CHECKS, DEPLOYMENT_HANDLER))


def _acknowledge_deployment_role(role: iam.Role, stack: Stack) -> None:
    """The page deployment's grants: two buckets' objects, whose names are known only at deploy time."""
    for action in ("s3:GetBucket*", "s3:GetObject*", "s3:List*", "s3:Abort*", "s3:DeleteObject*"):
        _ack(
            role,
            f"AwsSolutions-IAM5[Action::{action}]",
            "CDK's BucketDeployment grant: read the page's asset from the CDK assets bucket and replace the "
            "page's objects (prune) in the page's bucket, those two buckets only.",
        )
    for resource in (
        _assets_bucket_objects(stack),
        "<BackOfficeWebBucket38C3008E.Arn>/*",
    ):
        _ack(
            role,
            f"AwsSolutions-IAM5[Resource::{resource}]",
            "Objects of the CDK assets bucket (the page's zipped asset) and of the page's own bucket: the "
            "deployment copies and prunes the page's files, which are named only at deploy time.",
        )
