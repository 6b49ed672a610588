"""E-mail that really sends: the SES sender identity, and what the notifications function may send.

- The identity (``notificationSenderIdentity``): ``address`` verifies the sender address (SES mails it a
  link: click it once per stage and region), ``domain`` verifies its domain (publish its three DKIM CNAME
  records, below), ``none`` uses an identity that exists already (another
  stage of the same account verifying the same address or domain: an identity is an account-wide name).
- Sending: ``ses:SendEmail`` on every identity of this account and region, only with our sender as the From
  address. In the SES sandbox (a new account) SES authorizes the recipient's identity too, so a policy scoped
  to the sender's identity alone is refused for every customer; the condition keeps the From address ours.
- Regions without SES (infra/regions.NO_SES, China among them) get no identity; the function's sends fail
  there and its events end in its dead-letter queue (docs: what to do before the first real order).
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Aws, CfnOutput, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ses as ses
from constructs import Construct

from infra import nag, names, regions
from infra.config import StackConfig

SEND_ACTIONS = ["ses:SendEmail"]
# The account's maximum send rate, read once a container is throttled (it paces its sends to it).
QUOTA_ACTIONS = ["ses:GetSendQuota"]


def sender_domain(sender: str) -> str:
    return sender.rsplit("@", 1)[-1]


class SenderIdentity(Construct):
    """The SES identity of the configured sender (or nothing, see the module's docstring)."""

    def __init__(self, scope: Construct, construct_id: str, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self.identity: ses.EmailIdentity | None = None
        kind = config.sender_identity
        has_ses, condition = regions.available(self, "SesAvailable", regions.NO_SES)
        if kind == "none" or not has_ses:
            return
        sender = config.notification_sender
        verified = ses.Identity.email(sender) if kind == "address" else ses.Identity.domain(sender_domain(sender))
        self.identity = ses.EmailIdentity(self, "Identity", identity=verified)
        # A domain's DKIM records: `aws sesv2 get-email-identity --email-identity <domain>` (DkimAttributes.Tokens,
        # each "<token>._domainkey.<domain> CNAME <token>.dkim.amazonses.com"). Not an output: the offline
        # sandbox (moto) does not model SES identities, and a GetAtt on one fails its deploy.
        output = CfnOutput(scope, names.OUTPUT_SENDER_IDENTITY, value=self.identity.email_identity_name)
        if condition is not None:
            self.identity.node.default_child.cfn_options.condition = condition  # type: ignore[union-attr]
            output.condition = condition


def grant_send_as(function: lambda_.IFunction, sender: str) -> None:
    """ses:SendEmail from `sender` only, to any recipient (see the module's docstring)."""
    function.add_to_role_policy(
        iam.PolicyStatement(
            actions=SEND_ACTIONS,
            resources=[f"arn:{Aws.PARTITION}:ses:{Aws.REGION}:{Aws.ACCOUNT_ID}:identity/*"],
            conditions={"StringEquals": {"ses:FromAddress": sender}},
        )
    )
    function.add_to_role_policy(iam.PolicyStatement(actions=QUOTA_ACTIONS, resources=["*"]))  # no resource-level
    Validations.of(function).acknowledge(
        Acknowledgment(
            id=nag.PACK
            + "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*]",
            reason="SES authorizes SendEmail on the recipient's identity as well as the sender's (in the SES sandbox "
            "every customer's address is one): the condition ses:FromAddress keeps the From address our sender's.",
        )
    )
