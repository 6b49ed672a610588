"""What differs between regions and partitions, and how the stack adapts to it.

Facts (docs/DESIGN "Facts measured"; cfn-lint's region data, 1.58):
- the Powertools public layer is published per partition by different accounts, and python313-arm64 is
  not published in every region;
- `AWS::EventSchemas::*` and `AWS::SES::EmailIdentity` do not exist in some regions;
- the back-office's types do not exist in the China and GovCloud regions (NO_BACK_OFFICE).

A stack synthesized for a known region (``CDK_DEFAULT_REGION``, as the CDK CLI sets it from the profile)
decides here, at synth time: a region without the layer fails the synth with the regions named, a service
missing there is left out. An environment-agnostic stack (no region) decides at deploy time: CloudFormation
conditions on ``AWS::Region``/``AWS::Partition``, and a template rule that refuses a region without the layer
before anything is created.
"""

from __future__ import annotations

from aws_cdk import Aws, CfnCondition, CfnResource, CfnRule, CfnRuleAssertion, Fn, Stack, Token
from aws_cdk.region_info import RegionInfo
from constructs import Construct, IConstruct

# -- the Powertools layer ------------------------------------------------------------------------------
POWERTOOLS_LAYER_NAME = "AWSLambdaPowertoolsPythonV3-python313-arm64"
# The publishing account per partition, and the regions that have their own.
POWERTOOLS_LAYER_ACCOUNTS = {"aws": "017000801446", "aws-cn": "498634801083"}
POWERTOOLS_LAYER_REGION_ACCOUNTS = {"us-gov-east-1": "165087284144", "us-gov-west-1": "165093116878"}
POWERTOOLS_LAYER_PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
# Regions of those partitions where python313-arm64 is not published.
POWERTOOLS_LAYER_MISSING = ("ap-east-2", "ap-southeast-6", "ca-west-1")

# -- services missing in some regions --------------------------------------------------------------------
NO_SCHEMA_REGISTRY = (
    "ap-east-2",
    "ap-south-2",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-west-1",
    "il-central-1",
    "mx-central-1",
)
NO_SES = (
    "ap-east-1",
    "ap-east-2",
    "ap-southeast-4",
    "ap-southeast-6",
    "ap-southeast-7",
    "cn-north-1",
    "cn-northwest-1",
    "eu-south-2",
    "mx-central-1",
)


# The back-office page and its sign-in (infra/backoffice.py, infra/web.py) are left out here: China's regions
# have no Cognito user pools (AWS::Cognito::UserPool, UserPoolClient, UserPoolGroup) nor CloudFront origin
# access control, GovCloud's have no CloudFront at all (Distribution, OriginAccessControl,
# ResponseHeadersPolicy) (cfn-lint 1.58's region data). There, reviewers decide with orderctl (the review
# decision function), and the order API serves /orders without /backoffice.
NO_BACK_OFFICE = ("cn-north-1", "cn-northwest-1", "us-gov-east-1", "us-gov-west-1")


class LayerNotPublished(ValueError):
    """The synth's answer to a region or partition where the Powertools layer cannot be used."""


def region_of(scope: Construct) -> str | None:
    """The stack's region when the synth knows it, else None (an environment-agnostic template)."""
    region = Stack.of(scope).region
    return None if Token.is_unresolved(region) else region


def powertools_layer_account(scope: Construct) -> str:
    """The account that publishes the layer where this stack deploys (a token when the region is unknown)."""
    region = region_of(scope)
    if region is None:
        return _account_by_condition(Stack.of(scope))
    partition = RegionInfo.get(region).partition or "aws"
    if partition not in POWERTOOLS_LAYER_PARTITIONS:
        raise LayerNotPublished(
            f"The Powertools layer is not published in partition {partition} ({region}): "
            "publish a copy there and set -c powertoolsLayerArn=<its ARN>."
        )
    if region in POWERTOOLS_LAYER_MISSING:
        raise LayerNotPublished(
            f"The Powertools layer {POWERTOOLS_LAYER_NAME} is not published in {region} (nor in "
            f"{', '.join(r for r in POWERTOOLS_LAYER_MISSING if r != region)}): deploy to another region, or "
            "publish a copy of the layer there and set -c powertoolsLayerArn=<its ARN>."
        )
    return POWERTOOLS_LAYER_REGION_ACCOUNTS.get(region) or POWERTOOLS_LAYER_ACCOUNTS[partition]


def _account_by_condition(stack: Stack) -> str:
    """Fn::If over the partition and the GovCloud regions, and a rule refusing the regions without it."""
    existing = stack.node.try_find_child("PowertoolsLayerInChina")
    if existing is None:
        CfnCondition(stack, "PowertoolsLayerInChina", expression=Fn.condition_equals(Aws.PARTITION, "aws-cn"))
        for region in POWERTOOLS_LAYER_REGION_ACCOUNTS:
            CfnCondition(stack, _region_condition_id(region), expression=Fn.condition_equals(Aws.REGION, region))
        region_ref = Fn.ref("AWS::Region")
        CfnRule(
            stack,
            "PowertoolsLayerPublished",
            assertions=[
                CfnRuleAssertion(
                    assert_=Fn.condition_not(Fn.condition_contains(list(POWERTOOLS_LAYER_MISSING), region_ref)),
                    assert_description=f"The Powertools layer {POWERTOOLS_LAYER_NAME} is not published in "
                    f"{', '.join(POWERTOOLS_LAYER_MISSING)}: deploy to another region, or set "
                    "-c powertoolsLayerArn=<a copy you publish there>.",
                ),
                CfnRuleAssertion(
                    assert_=Fn.condition_contains(list(POWERTOOLS_LAYER_PARTITIONS), Fn.ref("AWS::Partition")),
                    assert_description="The Powertools layer is published in the partitions "
                    f"{', '.join(POWERTOOLS_LAYER_PARTITIONS)} only: set -c powertoolsLayerArn=<a copy you publish>.",
                ),
            ],
        )
    account: str = POWERTOOLS_LAYER_ACCOUNTS["aws"]
    for region, region_account in POWERTOOLS_LAYER_REGION_ACCOUNTS.items():
        account = Token.as_string(Fn.condition_if(_region_condition_id(region), region_account, account))
    return Token.as_string(Fn.condition_if("PowertoolsLayerInChina", POWERTOOLS_LAYER_ACCOUNTS["aws-cn"], account))


def _region_condition_id(region: str) -> str:
    return "PowertoolsLayerIn" + "".join(part.capitalize() for part in region.split("-"))


def available(scope: Construct, condition_id: str, missing_in: tuple[str, ...]) -> tuple[bool, CfnCondition | None]:
    """Whether a service missing in `missing_in` exists where this stack deploys.

    Known region: (True or False, None): build it or leave it out. Unknown region: (True, a condition)
    to put on every resource and output that needs the service (made once per stack).
    """
    region = region_of(scope)
    if region is not None:
        return region not in missing_in, None
    stack = Stack.of(scope)
    condition = stack.node.try_find_child(condition_id)
    if condition is None:
        condition = CfnCondition(
            stack,
            condition_id,
            expression=Fn.condition_not(
                Fn.condition_or(*[Fn.condition_equals(Aws.REGION, region) for region in missing_in])
            ),
        )
    assert isinstance(condition, CfnCondition)
    return True, condition


def condition_of(construct: IConstruct) -> CfnCondition | None:
    """The condition on a construct's CloudFormation resource (infra/backoffice.py sets one where the region
    is unknown), for whoever refers to it from a resource that exists everywhere."""
    child = construct.node.default_child
    return child.cfn_options.condition if isinstance(child, CfnResource) else None


def where(condition: CfnCondition | None, value: str, otherwise: str) -> str:
    """``value`` where the condition holds, else ``otherwise`` (AWS::NoValue drops a list element)."""
    if condition is None:
        return value
    return Token.as_string(Fn.condition_if(condition.logical_id, value, otherwise))


def where_list(condition: CfnCondition, value: list[object]) -> object:
    """``value`` where the condition holds, else nothing (AWS::NoValue)."""
    return Fn.condition_if(condition.logical_id, value, Aws.NO_VALUE)
