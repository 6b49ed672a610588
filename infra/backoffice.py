"""The back-office: who may review (a Cognito user pool with the groups `reviewers` and `operators`) and
the review routes on the order API's REST API, behind a Cognito authoriser.

    BackOffice(scope, "BackOffice", functions=..., rest_api=api.rest_api, workflow=..., tables=...,
               failure_stats=<failure_stats subscriber's table>, timeline=api.timeline,
               allowed_origin=web.url)

Routes (lambdas/backoffice_api/handler.py), all behind the authoriser, every one to one function:
GET /backoffice/me, GET /backoffice/reviews, POST /backoffice/reviews/{orderId}/decision,
GET /backoffice/orders, GET /backoffice/orders/{orderId}, GET /backoffice/failures.
The authoriser verifies the ID token (signature, issuer, audience, expiry); the function reads who the
user is and their groups from its claims and decides what they may do (logic.py).
"""

from __future__ import annotations

from typing import Final

import jsii
from aws_cdk import (
    Acknowledgment,
    CfnCondition,
    CfnResource,
    CfnWaitConditionHandle,
    Duration,
    IResolveContext,
    IStableAnyProducer,
    IStableListProducer,
    Lazy,
    RemovalPolicy,
    Stack,
    Validations,
)
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct, IConstruct

from infra import regions
from infra.api import OrderApi, Timeline
from infra.data import OrderTables
from infra.functions import FunctionFactory
from infra.grants import grant_table
from infra.subscribers import Subscribers
from infra.web import BackOfficeWeb
from infra.workflow import OrderWorkflow
from lambdas.backoffice_api.settings import (
    CORS_ALLOW_HEADERS,
    CORS_MAX_AGE_SECONDS,
    ENV_ALLOWED_ORIGIN,
    ENV_FAILURE_STATS_TABLE,
    OPERATORS_GROUP,
    REVIEWERS_GROUP,
)
from lambdas.shared import constants

HANDLER: Final = "lambdas.backoffice_api.handler.handler"
GROUPS: Final = {
    REVIEWERS_GROUP: "Payment reviewers: see waiting reviews and orders, approve or reject with a note.",
    OPERATORS_GROUP: "Operators: see reviews, orders by status and failures by reason; decide nothing.",
}
# (path under /backoffice, methods)
ROUTES: Final = (
    ("me", ("GET",)),
    ("reviews", ("GET",)),
    ("reviews/{orderId}/decision", ("POST",)),
    ("orders", ("GET",)),
    ("orders/{orderId}", ("GET",)),
    ("failures", ("GET",)),
)
ID_TOKEN_MINUTES: Final = 60
REFRESH_TOKEN_HOURS: Final = 8
PACK = "AwsSolutions::"


def _ack(construct: Construct, finding: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=PACK + finding, reason=reason))


class BackOfficeUsers(Construct):
    """The user pool (administrators create users; nobody signs up), its groups and the page's client."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(username=True, email=True),
            sign_in_case_sensitive=False,
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            deletion_protection=True,
            # The reviewers' accounts outlive a stack update gone wrong (as the order tables do).
            removal_policy=RemovalPolicy.RETAIN,
        )
        _ack(
            self.user_pool,
            "AwsSolutions-COG2",
            "MFA is offered (TOTP only, no SMS) but not yet required: the page has no TOTP enrolment screen, and "
            "a required factor without one would lock new reviewers out. Administrators create every account "
            "(no self sign-up) with a 12-character policy; requiring MFA is the next step (issue 13 report).",
        )
        for finding in ("AwsSolutions-COG3", "AwsSolutions-COG8"):
            _ack(
                self.user_pool,
                finding,
                "Threat protection (advanced security) is billed per monthly active user on the Plus plan; the "
                "pool holds a handful of staff accounts created by administrators, with no self sign-up and a strong "
                "password policy. Revisit if the pool ever admits customers.",
            )
        self.groups = {
            name: cognito.CfnUserPoolGroup(
                self,
                f"{name.capitalize()}Group",
                user_pool_id=self.user_pool.user_pool_id,
                group_name=name,
                description=description,
            )
            for name, description in GROUPS.items()
        }
        # The page signs in with USER_PASSWORD_AUTH over TLS (no client secret: it is a public client).
        self.client = self.user_pool.add_client(
            "PageClient",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_password=True, user_srp=True),
            prevent_user_existence_errors=True,
            id_token_validity=Duration.minutes(ID_TOKEN_MINUTES),
            access_token_validity=Duration.minutes(ID_TOKEN_MINUTES),
            refresh_token_validity=Duration.hours(REFRESH_TOKEN_HOURS),
            enable_token_revocation=True,
        )


class BackOffice(Construct):
    """The pool, the function and the /backoffice routes on ``rest_api``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: FunctionFactory,
        rest_api: apigw.RestApi,
        workflow: OrderWorkflow,
        tables: OrderTables,
        failure_stats: dynamodb.ITable,
        timeline: Timeline,
        allowed_origin: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.web: BackOfficeWeb | None = None  # set by add_back_office
        self.users = BackOfficeUsers(self, "Users")
        self.function = functions.create(
            self,
            "Function",
            HANDLER,
            "Back-office API: waiting reviews, decisions by the signed-in reviewer, orders and failures",
            environment={
                constants.ENV_PAYMENTS_TABLE: tables.payments.table_name,
                constants.ENV_STATE_MACHINE_ARN: workflow.state_machine.state_machine_arn,
                ENV_FAILURE_STATS_TABLE: failure_stats.table_name,
                ENV_ALLOWED_ORIGIN: allowed_origin,
            },
        )
        # Decide: the review decision function's calls (decide: GetItem, UpdateItem, answer the task); the waiting
        # reviews' payments (get_many: BatchGetItem); failures by reason (adapters.failure_counters: Query).
        grant_table(tables.payments, self.function, ("GetItem", "BatchGetItem", "UpdateItem"))
        workflow.grant_answer_reviews(self.function)
        workflow.grant_read_executions(self.function)
        workflow.grant_list_executions(self.function)
        grant_table(failure_stats, self.function, ("Query",))
        timeline.grant_read(self.function)

        self.authorizer = apigw.CognitoUserPoolsAuthorizer(
            self, "Authorizer", cognito_user_pools=[self.users.user_pool], results_cache_ttl=Duration.minutes(5)
        )
        integration = apigw.LambdaIntegration(self.function)
        root = rest_api.root.add_resource("backoffice")
        for path, methods in ROUTES:
            resource = root.resource_for_path(path)
            for method in methods:
                resource.add_method(
                    method,
                    integration,
                    authorizer=self.authorizer,
                    authorization_type=apigw.AuthorizationType.COGNITO,
                )
            resource.add_cors_preflight(
                allow_origins=[allowed_origin],
                allow_methods=[*methods, "OPTIONS"],
                allow_headers=list(CORS_ALLOW_HEADERS),
                max_age=Duration.seconds(CORS_MAX_AGE_SECONDS),
            )
            for child in resource.node.children:
                if isinstance(child, apigw.Method) and child.http_method == "OPTIONS":
                    preflight = (
                        "A CORS preflight (OPTIONS) carries no credentials by the browser's rules and is answered "
                        "by a MOCK integration with the allowed origin, methods and headers only: no data, no function."
                    )
                    _ack(child, "AwsSolutions-APIG4", preflight)
                    _ack(child, "AwsSolutions-COG4", preflight)
        # The page must read the authoriser's refusals (401/403) too: they carry the allowed origin.
        self.routes = root
        self.gateway_responses: list[apigw.GatewayResponse] = []
        for response_type, name in (
            (apigw.ResponseType.UNAUTHORIZED, "Unauthorized"),
            (apigw.ResponseType.ACCESS_DENIED, "AccessDenied"),
        ):
            self.gateway_responses.append(
                rest_api.add_gateway_response(
                    f"BackOffice{name}",
                    type=response_type,
                    response_headers={"Access-Control-Allow-Origin": f"'{allowed_origin}'"},
                )
            )

    @property
    def page_url(self) -> str:
        """The page's address (the distribution's), once add_back_office has deployed it."""
        if self.web is None:
            raise ValueError("the page is deployed by add_back_office")
        return self.web.url


def add_back_office(stack: Stack, functions: FunctionFactory, api: OrderApi, subscribers: Subscribers) -> BackOffice:
    """The stack's one line: the page (BackOfficeWeb), the pool and routes (BackOffice), the page's config."""
    web = BackOfficeWeb(stack, "BackOfficeWeb")
    back_office = BackOffice(
        stack,
        "BackOffice",
        functions=functions,
        rest_api=api.rest_api,
        workflow=stack.workflow,  # type: ignore[attr-defined]
        tables=stack.tables,  # type: ignore[attr-defined]
        failure_stats=subscribers.subscribers["failure_stats"].table,  # type: ignore[arg-type]
        timeline=api.timeline,
        allowed_origin=web.url,
    )
    web.deploy(
        api_url=api.rest_api.url,
        region=stack.region,
        user_pool_client_id=back_office.users.client.user_pool_client_id,
        log_retention_days=stack.config.log_retention_days,  # type: ignore[attr-defined]
    )
    back_office.web = web
    return back_office


def add_back_office_where_available(
    stack: Stack, functions: FunctionFactory, api: OrderApi, subscribers: Subscribers
) -> BackOffice | None:
    """The back-office where the region has Cognito user pools and CloudFront (regions.NO_BACK_OFFICE):
    a known region without them gets none (None); an unknown one gets it under the condition
    BackOfficeAvailable, on every resource it adds (its routes on the order API included)."""
    available, condition = regions.available(stack, "BackOfficeAvailable", regions.NO_BACK_OFFICE)
    if not available:
        return None
    back_office = add_back_office(stack, functions, api, subscribers)
    if condition is not None:
        _only_where(condition, stack, back_office, api.rest_api)
        # Only in the aws partition: AWS's public layer's China and GovCloud branches would be unreachable (W1028).
        layer_arn = functions.layer_arn_in_the_aws_partition()
        if layer_arn is not None:
            cfn_function = back_office.function.node.default_child
            assert isinstance(cfn_function, CfnResource)
            cfn_function.add_property_override("Layers", [layer_arn])
    return back_office


def _only_where(condition: CfnCondition, stack: Stack, back_office: BackOffice, rest_api: apigw.RestApi) -> None:
    scopes: list[IConstruct] = [back_office, back_office.routes, *back_office.gateway_responses]
    if back_office.web is not None:
        scopes.append(back_office.web)
    # CDK's BucketDeployment handler is a singleton at the stack's level.
    scopes += [c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment")]
    conditioned: set[str] = set()
    for scope in scopes:
        for node in scope.node.find_all():
            if isinstance(node, CfnResource):
                node.cfn_options.condition = condition
                conditioned.add(stack.get_logical_id(node))
    # The API's deployment depends on every method, these too; DependsOn cannot name a resource a condition
    # may leave out, so it names a handle whose metadata refers to those (and only those) only where they
    # exist (an Fn::If Ref is a dependency CloudFormation honours): the deployment still waits for every route.
    deployment = rest_api.latest_deployment
    assert deployment is not None
    cfn_deployment = deployment.node.default_child
    assert isinstance(cfn_deployment, CfnResource)
    handle = CfnWaitConditionHandle(stack, "BackOfficeRoutesCreated")
    dependencies = _Dependencies(cfn_deployment, conditioned)
    handle.cfn_options.metadata = {"Routes": Lazy.any(_ConditionedRefs(dependencies, condition))}
    cfn_deployment.add_override("DependsOn", Lazy.list(_UnconditionedDependsOn(dependencies, handle)))


class _Dependencies:
    """A resource's dependencies as synth finds them (every method, gateway response...), split in two."""

    def __init__(self, resource: CfnResource, conditioned: set[str]) -> None:
        self._resource = resource
        self._conditioned = conditioned

    def split(self) -> tuple[list[str], list[str]]:
        stack = Stack.of(self._resource)
        ids = {
            stack.get_logical_id(d)
            for d in self._resource.obtain_dependencies()
            if isinstance(d, CfnResource) and Stack.of(d) is stack
        }
        return sorted(ids - self._conditioned), sorted(ids & self._conditioned)


@jsii.implements(IStableListProducer)
class _UnconditionedDependsOn:
    def __init__(self, dependencies: _Dependencies, handle: CfnResource) -> None:
        self._dependencies = dependencies
        self._handle = handle

    def produce(self, context: IResolveContext | None = None) -> list[str]:
        kept, _ = self._dependencies.split()
        return [*kept, Stack.of(self._handle).get_logical_id(self._handle)]


@jsii.implements(IStableAnyProducer)
class _ConditionedRefs:
    def __init__(self, dependencies: _Dependencies, condition: CfnCondition) -> None:
        self._dependencies = dependencies
        self._condition = condition

    def produce(self, context: IResolveContext | None = None) -> object:
        _, conditioned = self._dependencies.split()
        return regions.where_list(self._condition, [{"Ref": logical_id} for logical_id in conditioned])
