"""cdk-nag AwsSolutions checks, on in every synth, and the findings we accept, each with its reason.

Acknowledgments are attached to the construct that raises the finding, never stack-wide, so a
new resource with the same problem still fails the synth.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Stack, Validations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

PACK = "AwsSolutions::"

WILDCARD_RESOURCE = "AwsSolutions-IAM5[Resource::*]"


def enable_nag(app: App) -> None:
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))


def _ack(construct: IConstruct, finding: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=PACK + finding, reason=reason))


def acknowledge_function(function: lambda_.Function) -> None:
    _ack(
        function,
        WILDCARD_RESOURCE,
        "xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) have no resource-level "
        "permissions in IAM: AWS requires Resource '*'.",
    )
    _ack(
        function,
        "AwsSolutions-L1",
        "python3.13 is pinned on purpose: the dependency layer's wheels and bytecode are built for it "
        "(infra/dependency_layer.py), as is AWS's Powertools layer when chosen "
        "(AWSLambdaPowertoolsPythonV3-python313-arm64).",
    )


def acknowledge_state_machine(state_machine: sfn.StateMachine, invoked: list[lambda_.Function]) -> None:
    _ack(
        state_machine,
        WILDCARD_RESOURCE,
        "CloudWatch Logs delivery (logs:CreateLogDelivery, logs:DescribeResourcePolicies, ...) and "
        "X-Ray tracing actions have no resource-level permissions in IAM: AWS requires Resource '*'.",
    )
    _ack(
        state_machine,
        "AwsSolutions-SF1",
        "The execution log is at level ERROR on purpose: its metric filters read ExecutionFailed only, and every "
        "step of an order is in the execution history (90 days, orderctl trace); level ALL doubled an order's "
        "log bytes (docs/BENCH.md).",
    )
    stack = Stack.of(state_machine)
    for function in invoked:
        logical_id = stack.get_logical_id(function.node.default_child)  # type: ignore[arg-type]
        _ack(
            state_machine,
            f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>:*]",
            "lambda:InvokeFunction on '<function arn>:*' is CDK's grant for this workflow's own task "
            "function and its versions; nothing else is reachable through it.",
        )


def acknowledge_dead_letter_queue(queue: sqs.Queue) -> None:
    _ack(
        queue,
        "AwsSolutions-SQS3",
        "This queue is itself a dead-letter queue: of an EventBridge rule target and of the target "
        "function's async invocations. Nothing consumes it automatically, so it needs no DLQ of its own.",
    )
