"""The audit trail's anchor: a bucket of write-once checkpoints under S3 Object Lock (compliance mode).

The audit subscriber (lambdas/subscribers/audit) appends to a hash chain in its DynamoDB table, then puts
the new head (seq, hash) as one object per record into this bucket. Verification (``orderctl audit-verify``)
compares every checkpoint with the chain, so whoever may write the table (an operator, a leaked key,
the writer's own role) cannot cut the tail, roll the head back or rewrite the chain unseen.

What IAM enforces and what it cannot (docs/SECURITY.md):
- the writer's role gets ``dynamodb:GetItem`` and ``dynamodb:PutItem`` on its table (TransactWriteItems is
  authorized per Put), no UpdateItem, DeleteItem or BatchWriteItem. IAM has no condition key that requires
  a ``ConditionExpression``: a PutItem that overwrites a record cannot be refused by policy. The code writes
  every record and marker with ``attribute_not_exists``; an overwrite anyway is what the checkpoints catch.
- on the bucket the role may only ``s3:PutObject`` under ``checkpoints/``; the bucket policy refuses any
  PutObject without ``If-None-Match`` (condition key ``s3:if-none-match``), so nobody replaces a
  checkpoint, and Object Lock in compliance mode keeps every version for the retention, whoever asks
  (the root user included); the role has no delete, retention or legal-hold action either.
"""

from __future__ import annotations

from typing import Final, Protocol

from aws_cdk import Acknowledgment, CfnOutput, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

from infra import nag
from lambdas.shared import constants

# How long a checkpoint cannot be deleted by anyone. Any later checkpoint still covers a record whose own
# checkpoint has expired (its hash chains over every record before it).
CHECKPOINT_RETENTION_DAYS: Final = 400
_ID: Final = "AuditCheckpoints"
NO_ACCESS_LOGS: Final = (
    "Checkpoints are written once by the audit function and never changed or deleted (Object Lock, compliance "
    "mode); who wrote each is in CloudTrail. Access logs would add a second bucket that records nothing the "
    "lock does not already prevent."
)


class AuditCheckpoints(Construct):
    """The stack's one checkpoint bucket (``of``), its policy and its output."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            object_lock_enabled=True,
            object_lock_default_retention=s3.ObjectLockRetention.compliance(Duration.days(CHECKPOINT_RETENTION_DAYS)),
            versioned=True,  # Object Lock requires it
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="WriteOnce",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects("*")],
                conditions={"Null": {"s3:if-none-match": "true"}},
            )
        )
        Validations.of(self.bucket).acknowledge(Acknowledgment(id=nag.PACK + "AwsSolutions-S1", reason=NO_ACCESS_LOGS))
        # checkov's same finding (CKV_AWS_18), on the resource: see infra/checkov.py.
        self.bucket.node.default_child.add_metadata(  # type: ignore[union-attr]
            "checkov", {"skip": [{"id": "CKV_AWS_18", "comment": NO_ACCESS_LOGS}]}
        )
        CfnOutput(Stack.of(self), constants.OUTPUT_AUDIT_CHECKPOINT_BUCKET, value=self.bucket.bucket_name)

    @classmethod
    def of(cls, construct: IConstruct) -> AuditCheckpoints:
        """The stack's checkpoint bucket, made on first use (the audit registry entry's hooks have no scope)."""
        stack = Stack.of(construct)
        found = stack.node.try_find_child(_ID)
        return found if isinstance(found, AuditCheckpoints) else cls(stack, _ID)

    def grant_anchor(self, function: lambda_.IFunction) -> None:
        """PutObject under the checkpoint prefix, nothing else (no delete, retention, legal hold or tagging)."""
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects(constants.AUDIT_CHECKPOINT_PREFIX + "*")],
            )
        )
        arn = Stack.of(self).get_logical_id(self.bucket.node.default_child)  # type: ignore[arg-type]
        Validations.of(function).acknowledge(
            Acknowledgment(
                id=f"{nag.PACK}AwsSolutions-IAM5[Resource::<{arn}.Arn>/{constants.AUDIT_CHECKPOINT_PREFIX}*]",
                reason="One object per appended record under the checkpoint prefix: their keys are not known "
                "in advance. Put only, and only with If-None-Match (bucket policy): write-once.",
            )
        )


class _InStack(Protocol):
    """What the registry's hooks pass (infra.subscribers.Context): anything with a construct of the stack."""

    @property
    def bus(self) -> IConstruct: ...


def checkpoint_environment(ctx: _InStack) -> dict[str, str]:
    """The audit registry entry's ``environment`` hook: where its checkpoints go."""
    return {constants.ENV_AUDIT_CHECKPOINT_BUCKET: AuditCheckpoints.of(ctx.bus).bucket.bucket_name}


def grant_checkpoints(function: lambda_.IFunction, ctx: _InStack) -> None:
    """The audit registry entry's ``grant`` hook."""
    AuditCheckpoints.of(ctx.bus).grant_anchor(function)
