"""How every Lambda function of this project is built: one place, so all of them agree.

Python 3.13 on arm64, Powertools from the stack's own layer built from the repository's pins
(infra/dependency_layer.py), or from AWS's public layer when the context names one (`powertoolsLayerVersion`: its ARN
follows the stack's region and partition, infra/regions.py; `powertoolsLayerArn`: a copy), X-Ray active,
an explicit log group with retention that the function alone may write, encrypted with the stack's
function-log key (a log line may carry order or reviewer data: an error's input, a reviewer's address).
The code asset is the repository's `lambdas/` package only, with its bytecode compiled ahead
(infra/code_asset.py; Powertools comes from the layer, boto3 from the runtime), so a handler path reads
``lambdas.<function>.handler.handler`` locally and in AWS alike.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import code_asset, dependency_layer, nag, names, regions
from infra.config import LAMBDA_TIMEOUT_SECONDS, StackConfig
from infra.names import ENV_POWERTOOLS_NAMESPACE, ENV_POWERTOOLS_SERVICE
from lambdas.shared import constants


def powertools_layer_arn(scope: Construct, version: int, account: str | None = None) -> str:
    """The AWS-published Powertools layer for python3.13/arm64 in the stack's region and partition, from the
    account that publishes it there (regions.LayerNotPublished where there is none) unless one is named."""
    stack = Stack.of(scope)
    account = account or regions.powertools_layer_account(scope)
    return f"arn:{stack.partition}:lambda:{stack.region}:{account}:layer:{regions.POWERTOOLS_LAYER_NAME}:{version}"


class FunctionFactory:
    """Builds the project's functions with one shared code asset and layer."""

    def __init__(self, scope: Construct, config: StackConfig) -> None:
        self._scope = scope
        self._config = config
        self._code = code_asset.code()
        self._layer = self._make_layer()
        self._log_key: kms.Key | None = None

    def _make_layer(self) -> lambda_.ILayerVersion:
        version = self._config.powertools_layer_version
        arn = self._config.powertools_layer_arn or (
            powertools_layer_arn(self._scope, version) if version is not None else None
        )
        if arn is None:
            return dependency_layer.layer(self._scope)
        return lambda_.LayerVersion.from_layer_version_arn(self._scope, "PowertoolsLayer", arn)

    def layer_arn_in_the_aws_partition(self) -> str | None:
        """For a function that exists only in the aws partition (a region condition leaves it out of China and
        GovCloud, infra/regions.py), the AWS public layer's ARN there: the other partitions' accounts would be
        unreachable. None when the layer is not AWS's public one (the stack's own exists in every partition)."""
        version = self._config.powertools_layer_version
        if self._config.powertools_layer_arn or version is None:
            return None
        return powertools_layer_arn(self._scope, version, regions.POWERTOOLS_LAYER_ACCOUNTS["aws"])

    def log_key(self) -> kms.Key:
        """One customer managed key for every function's log group, made with the first function."""
        if self._log_key is None:
            self._log_key = log_group_key(
                self._scope, "FunctionLogKey", "Encrypts the functions' log groups (they may hold order data)"
            )
        return self._log_key

    def create(
        self,
        scope: Construct,
        construct_id: str,
        handler: str,
        description: str,
        environment: dict[str, str] | None = None,
        timeout_seconds: int = LAMBDA_TIMEOUT_SECONDS,
    ) -> lambda_.Function:
        log_group = logs.LogGroup(
            scope,
            f"{construct_id}Logs",
            retention=log_retention(self._config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
            encryption_key=self.log_key(),
        )
        env = {
            ENV_POWERTOOLS_SERVICE: constants.SERVICE_NAME,
            ENV_POWERTOOLS_NAMESPACE: names.metrics_namespace(self._config.stage),
            "POWERTOOLS_LOG_LEVEL": "INFO",
            **(environment or {}),
        }
        function = lambda_.Function(
            scope,
            construct_id,
            description=description,
            runtime=code_asset.RUNTIME,
            architecture=code_asset.ARCHITECTURE,
            handler=handler,
            code=self._code,
            layers=[self._layer],
            memory_size=constants.LAMBDA_MEMORY_MB,
            timeout=Duration.seconds(timeout_seconds),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            environment=env,
        )
        # Least privilege for logs: CDK's default role carries AWSLambdaBasicExecutionRole, which may
        # create and write any log group in the account; this function writes its own group only.
        assert function.role is not None
        cfn_role: iam.CfnRole = function.role.node.default_child  # type: ignore[assignment]
        cfn_role.managed_policy_arns = None
        log_group.grant_write(function)
        nag.acknowledge_function(function)
        return function


def log_group_key(scope: Construct, construct_id: str, description: str) -> kms.Key:
    """A rotating key that CloudWatch Logs may use for this account's log groups in this region only."""
    key = kms.Key(
        scope, construct_id, description=description, enable_key_rotation=True, removal_policy=RemovalPolicy.DESTROY
    )
    stack = Stack.of(scope)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                    )
                }
            },
        )
    )
    return key


_RETENTION_BY_DAYS = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    731: logs.RetentionDays.TWO_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
}


def log_retention(days: int) -> logs.RetentionDays:
    """CloudWatch accepts only certain retention periods: round up to the next one."""
    return next((r for d, r in sorted(_RETENTION_BY_DAYS.items()) if d >= days), logs.RetentionDays.TEN_YEARS)
