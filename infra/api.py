"""The order API (issue 13): an API Gateway REST API in front of one function (lambdas/order_api), every
order method IAM-authorised (the storefront backend signs with SigV4); one timeline table the subscribers
write and the API reads; a saved Logs Insights query that finds one order's lines in every function.

    POST /orders              start the order's workflow (execution name = orderId)
    GET  /orders/{orderId}    status, states passed, named error and cause, the timeline

The stage is throttled (rate and burst below) and writes a JSON access log. ``rest_api`` is shared: the
back-office (infra/backoffice.py) adds its Cognito-authorised routes to it.
"""

from __future__ import annotations

import json
from typing import Final

import jsii
from aws_cdk import Acknowledgment, Aws, CfnOutput, IStableListProducer, Lazy, RemovalPolicy, Stack, Validations
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from infra import nag, regions
from infra.config import StackConfig
from infra.data import OrderTables, marker_table
from infra.functions import FunctionFactory, log_retention
from infra.grants import CATALOG, grant_table
from infra.subscribers import Subscribers
from infra.workflow import OrderWorkflow
from lambdas.shared import constants
from lambdas.timeline.store import ENV_TIMELINE_TABLE, READ_ACTIONS, TIMELINE_TABLE_OUTPUT, WRITE_ACTIONS

HANDLER: Final = "lambdas.order_api.handler.handler"
OUTPUT_API_URL: Final = "OrderApiUrl"
OUTPUT_TIMELINE_TABLE: Final = TIMELINE_TABLE_OUTPUT
# Steady requests per second and burst the stage lets through (429 above), for every method together.
THROTTLE_RATE_PER_SECOND: Final = 50
THROTTLE_BURST: Final = 100
# What Logs Insights shows for one order (replace the id): every function logs `correlation_id` (Powertools).
ORDER_QUERY_PLACEHOLDER: Final = "REPLACE-WITH-ORDER-ID"
ORDER_QUERY: Final = (
    "fields @timestamp, @log, level, message, function_name, cold_start\n"
    f'| filter correlation_id = "{ORDER_QUERY_PLACEHOLDER}"\n'
    "| sort @timestamp asc\n"
    "| limit 10000"
)
ACCESS_LOG_FIELDS: Final = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "ip": "$context.identity.sourceIp",
    "caller": "$context.identity.caller",
    "user": "$context.identity.user",
    "userArn": "$context.identity.userArn",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integrationStatus",
    "errorMessage": "$context.error.message",
    "wafResponse": "$context.waf.status",
}


def _ack(construct: IConstruct, finding: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=nag.PACK + finding, reason=reason))


class Timeline(Construct):
    """One table of what subscribers did with each order's events (TTL), written by every subscriber."""

    def __init__(self, scope: Construct, construct_id: str, subscribers: Subscribers) -> None:
        super().__init__(scope, construct_id)
        self.table = marker_table(self, "Table")
        # Every subscriber in the registry records through the shared entry point: a new one gets it too.
        for sub in subscribers.subscribers.values():
            sub.function.add_environment(ENV_TIMELINE_TABLE, self.table.table_name)
            self.table.grant(sub.function, *WRITE_ACTIONS)

    def grant_read(self, function: lambda_.Function) -> None:
        function.add_environment(ENV_TIMELINE_TABLE, self.table.table_name)
        self.table.grant(function, *READ_ACTIONS)


class OrderApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        config: StackConfig,
        functions: FunctionFactory,
        tables: OrderTables,
        workflow: OrderWorkflow,
        subscribers: Subscribers,
    ) -> None:
        super().__init__(scope, construct_id)
        self.timeline = Timeline(self, "Timeline", subscribers)
        self.function = functions.create(
            self,
            "Handler",
            HANDLER,
            "Order API: places orders (starts the workflow) and shows them with their timeline",
            environment={
                constants.ENV_STATE_MACHINE_ARN: workflow.state_machine.state_machine_arn,
                constants.ENV_INVENTORY_TABLE: tables.inventory.table_name,
                constants.ENV_PRICING: json.dumps(config.pricing),
            },
        )
        # This workflow only: start an order, read its executions; the catalog; the timeline.
        workflow.state_machine.grant_start_execution(self.function)
        workflow.grant_read_executions(self.function)
        grant_table(tables.inventory, self.function, CATALOG)  # check_order: inventory.get_catalog
        self.timeline.grant_read(self.function)

        access_log = logs.LogGroup(
            self,
            "AccessLogs",
            retention=log_retention(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
            encryption_key=functions.log_key(),
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            description="Orders: place an order, follow it (IAM-authorised, SigV4)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=False,
            deploy_options=apigw.StageOptions(
                stage_name=config.stage,
                throttling_rate_limit=THROTTLE_RATE_PER_SECOND,
                throttling_burst_limit=THROTTLE_BURST,
                access_log_destination=apigw.LogGroupLogDestination(access_log),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
                tracing_enabled=True,
                metrics_enabled=True,
            ),
        )
        # API Gateway checks the required parameters (and a body against a model, where a method has one);
        # the order itself is checked by the handler with the kernel's validation (400 naming the field), the
        # same code as ValidateOrder, not a second copy of the contract in an API Gateway model.
        validator = self.rest_api.add_request_validator(
            "Validator", validate_request_parameters=True, validate_request_body=True
        )
        integration = apigw.LambdaIntegration(self.function, proxy=True)
        orders = self.rest_api.root.add_resource("orders")
        order = orders.add_resource("{orderId}")
        methods = [
            orders.add_method(
                "POST", integration, authorization_type=apigw.AuthorizationType.IAM, request_validator=validator
            ),
            order.add_method(
                "GET",
                integration,
                authorization_type=apigw.AuthorizationType.IAM,
                request_validator=validator,
                request_parameters={"method.request.path.orderId": True},
            ),
        ]
        for method in methods:
            _ack(
                method,
                "AwsSolutions-COG4",
                "The order API's callers are the storefront's backend services, not people: IAM authorisation "
                "(SigV4-signed requests, execute-api:Invoke granted to their roles) is the authoriser. The "
                "back-office's people routes use the Cognito authoriser.",
            )
        _ack(
            self.rest_api.deployment_stage,
            "AwsSolutions-APIG3",
            "No WAF web ACL: every method requires a SigV4 signature from an IAM principal of the shop, so "
            "anonymous traffic is refused by API Gateway before it costs anything, and the stage's throttling "
            "bounds what a signed caller can send. A web ACL (about $5/month plus $1 per rule and per million "
            "requests) is worth adding if the API is ever opened to unsigned callers.",
        )
        _ack(
            self.rest_api.deployment_stage,
            "AwsSolutions-APIG6",
            "Execution logging needs the account's API Gateway CloudWatch role (AWS::ApiGateway::Account), one "
            "setting per account and region that this stack would take over from any other; the stage's JSON "
            "access log (status, latency, integration status, error message) and the function's own log, with "
            "the order's correlation id, cover every request.",
        )

        # The API's address for people and the sandbox (a clean output name, at the stack's level).
        CfnOutput(Stack.of(self), OUTPUT_API_URL, value=self.rest_api.url)
        CfnOutput(Stack.of(self), OUTPUT_TIMELINE_TABLE, value=self.timeline.table.table_name)
        self.query = logs.CfnQueryDefinition(
            self,
            "OrderLogsQuery",
            name=f"{constants.STACK_NAME}-{config.stage}/order-by-correlation-id",
            query_string=ORDER_QUERY,
            log_group_names=Lazy.list(_FunctionLogGroups(Stack.of(self))),
        )


@jsii.implements(IStableListProducer)
class _FunctionLogGroups:
    """Every function's log group in the stack, read at synth (functions added after the API included)."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack

    def produce(self) -> list[str]:
        # A function left out where the region lacks its service (infra/regions.py): its group only there.
        return [
            regions.where(regions.condition_of(node), node.log_group.log_group_name, Aws.NO_VALUE)
            for node in self._stack.node.find_all()
            if isinstance(node, lambda_.Function) and Stack.of(node) is self._stack
        ]
