"""CloudFormation: what moto's stack deployment gets wrong for a CDK template.

Generated names that break AWS's rules, an archive's EventPattern, Ref to an event bus, state machines
that land in the non-executing backend, resource types moto has no model for, and CDK's BucketDeployment.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sandbox.moto_fixes.base import original, register

# CloudFormation's limits on names it generates, where moto's generic <stack>-<logicalId>-<suffix> breaks them.
_NAME_LIMITS = {"AWS::SQS::Queue": 80, "AWS::Events::Archive": 48}


def _parse_resource_and_generate_name(logical_id: str, resource_json: dict[str, Any], resources_map: Any) -> Any:
    parsed = original("cfn-generated-names")(logical_id, resource_json, resources_map)
    if not parsed:
        return parsed
    resource_class, resource_json, name = parsed
    resource_type = resource_json["Type"]
    properties = resource_json.get("Properties", {})
    name_property = resource_class.cloudformation_name_type() if resource_class else None
    if resource_type not in _NAME_LIMITS or (name_property and name_property in properties):
        return parsed
    fifo = resource_type == "AWS::SQS::Queue" and str(properties.get("FifoQueue", "")).lower() == "true"
    suffix = ".fifo" if fifo else ""
    prefix, _, random_part = str(name).rpartition("-")
    limit = _NAME_LIMITS[resource_type] - len(suffix) - len(random_part) - 1
    return resource_class, resource_json, f"{prefix[:limit]}-{random_part}{suffix}"


register(
    "cfn-generated-names",
    "Names moto generates for unnamed resources break AWS's rules: a FIFO queue's lacks the '.fifo' "
    "suffix (InvalidParameterValue) and an archive's exceeds 48 characters (ValidationException).",
    {("moto.cloudformation.parsing:", "parse_resource_and_generate_name"): _parse_resource_and_generate_name},
)


def _archive_from_cloudformation(
    cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
) -> Any:
    properties = cloudformation_json["Properties"]
    if isinstance(properties.get("EventPattern"), dict):
        properties = {**properties, "EventPattern": json.dumps(properties["EventPattern"])}
        cloudformation_json = {**cloudformation_json, "Properties": properties}
    return original("cfn-archive-pattern").__func__(cls, resource_name, cloudformation_json, account_id, region_name)


register(
    "cfn-archive-pattern",
    "An AWS::Events::Archive's EventPattern (a JSON object in the template) fails to load: moto parses "
    "it as a string (TypeError: the JSON object must be str). Rules get this right; archives do not.",
    {("moto.events.models:Archive", "create_from_cloudformation_json"): classmethod(_archive_from_cloudformation)},
)

register(
    "cfn-event-bus-ref",
    "Ref to an AWS::Events::EventBus resolves to the moto object instead of the bus name, so every "
    "EVENT_BUS_NAME variable, ASL substitution and output reads '<moto.events.models.EventBus ...>'.",
    {("moto.events.models:EventBus", "physical_resource_id"): property(lambda self: self.name)},
)

register(
    "cfn-api-deployment-ref",
    "Ref to an AWS::ApiGateway::Deployment resolves to the moto object instead of the deployment id, so the "
    "stage that names it holds that object and get-stage fails (TypeError: Object of type Deployment is not "
    "JSON serializable).",
    {("moto.apigateway.models:Deployment", "physical_resource_id"): property(lambda self: self.id)},
)


def _state_machine_from_cloudformation(
    cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
) -> Any:
    from moto.stepfunctions.responses import get_backend

    properties = cloudformation_json["Properties"]
    definition = properties.get("DefinitionString")
    if definition is None and "Definition" in properties:
        definition = json.dumps(properties["Definition"])
    # CloudFormation replaces ${Name} with DefinitionSubstitutions (values already resolved by moto).
    for key, value in (properties.get("DefinitionSubstitutions") or {}).items():
        definition = definition.replace("${" + key + "}", str(value))
    return get_backend(account_id, region_name).create_state_machine(
        properties.get("StateMachineName", resource_name),
        definition,
        properties.get("RoleArn", ""),
        tags=properties.get("Tags") or [],
        loggingConfiguration=properties.get("LoggingConfiguration"),
        tracingConfiguration=properties.get("TracingConfiguration"),
        sm_type=properties.get("StateMachineType", "STANDARD"),
    )


def _delete_state_machine_from_cloudformation(
    cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
) -> None:
    from moto.stepfunctions.responses import get_backend

    get_backend(account_id, region_name).delete_state_machine(resource_name)


register(
    "cfn-state-machine",
    "An AWS::StepFunctions::StateMachine from CloudFormation lands in the non-executing backend (its "
    "executions never run) and ignores DefinitionSubstitutions (the ASL keeps '${...}') and Definition.",
    {
        ("moto.stepfunctions.models:StateMachine", "create_from_cloudformation_json"): classmethod(
            _state_machine_from_cloudformation
        ),
        ("moto.stepfunctions.models:StateMachine", "delete_from_cloudformation_json"): classmethod(
            _delete_state_machine_from_cloudformation
        ),
    },
)


def _method_from_cloudformation(
    cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
) -> Any:
    properties = cloudformation_json["Properties"]
    integration = properties.get("Integration") or {}
    if integration.get("Type") == "MOCK":
        # A MOCK integration (a CORS preflight) has neither; moto's put_integration takes None for both.
        integration = {"IntegrationHttpMethod": None, "Uri": None, **integration}
        cloudformation_json = {**cloudformation_json, "Properties": {**properties, "Integration": integration}}
    return original("cfn-mock-method").__func__(cls, resource_name, cloudformation_json, account_id, region_name)


register(
    "cfn-mock-method",
    "An AWS::ApiGateway::Method with a MOCK integration (CDK's CORS preflight, OPTIONS) fails the whole "
    "stack: moto reads the integration's IntegrationHttpMethod and Uri, which a MOCK integration has not "
    "(KeyError: 'IntegrationHttpMethod').",
    {("moto.apigateway.models:Method", "create_from_cloudformation_json"): classmethod(_method_from_cloudformation)},
)


class _Resource:
    """A CloudFormation resource moto has no model for, created through moto's own backends where
    they exist (duck-typed: subclassing CloudFormationModel would register it with moto for good)."""

    TYPE = ""
    ATTRIBUTES: tuple[str, ...] = ()

    def __init__(self, physical_id: str, attributes: dict[str, str] | None = None) -> None:
        self.physical_resource_id = physical_id
        self._attributes = attributes or {}

    @classmethod
    def create_from_cloudformation_json(
        cls, name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> _Resource:
        return cls.create(name, dict(cloudformation_json["Properties"]), account_id, region_name)

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> _Resource:
        raise NotImplementedError

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self._attributes[attribute_name]

    def is_created(self) -> bool:
        return True

    @classmethod
    def delete_from_cloudformation_json(cls, *args: Any, **kwargs: Any) -> None:
        return None


class _EventInvokeConfig(_Resource):
    """Lambda's async retries and on-failure destination: moto's API has them, its CloudFormation not."""

    TYPE = "AWS::Lambda::EventInvokeConfig"

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> _Resource:
        from moto.awslambda.models import lambda_backends

        function_name = properties.pop("FunctionName")
        properties.pop("Qualifier", None)
        lambda_backends[account_id][region_name].put_function_event_invoke_config(function_name, properties)
        return cls(f"{function_name}-event-invoke-config")


class _QueuePolicy(_Resource):
    TYPE = "AWS::SQS::QueuePolicy"

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> _Resource:
        from moto.sqs.models import sqs_backends

        policy = {"Policy": json.dumps(properties["PolicyDocument"])}
        for queue_url in properties["Queues"]:
            sqs_backends[account_id][region_name].set_queue_attributes(queue_url.rsplit("/", 1)[-1], policy)
        return cls(name)


class _EventBusPolicy(_Resource):
    TYPE = "AWS::Events::EventBusPolicy"

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> _Resource:
        from moto.events.models import events_backends

        backend = events_backends[account_id][region_name]
        bus, sid = properties.get("EventBusName", "default"), properties["StatementId"]
        if statement := properties.get("Statement"):
            backend.put_permission(bus, "", "", "", {}, json.dumps({"Statement": [{"Sid": sid, **statement}]}))
        else:
            action, principal = str(properties.get("Action", "")), properties.get("Principal", "")
            backend.put_permission(bus, action, principal, sid, properties.get("Condition", {}), "")
        return cls(sid)


class _SchemaRegistry(_Resource):
    """moto has no EventBridge Schemas service: the registry is recorded, its attributes resolve."""

    TYPE = "AWS::EventSchemas::Registry"
    ATTRIBUTES = ("RegistryName", "RegistryArn")

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> _Resource:
        registry = properties.get("RegistryName", name)
        arn = f"arn:aws:schemas:{region_name}:{account_id}:registry/{registry}"
        return cls(arn, {"RegistryName": registry, "RegistryArn": arn})


class _Schema(_Resource):
    TYPE = "AWS::EventSchemas::Schema"
    ATTRIBUTES = ("SchemaArn", "SchemaName", "SchemaVersion")

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> _Resource:
        schema = properties.get("SchemaName", name)
        arn = f"arn:aws:schemas:{region_name}:{account_id}:schema/{properties['RegistryName']}/{schema}"
        return cls(arn, {"SchemaArn": arn, "SchemaName": schema, "SchemaVersion": "1"})


class _Distribution(_Resource):
    """moto's CloudFront API has distributions, its CloudFormation none: recorded with an id and a domain name
    (the sandbox serves the back-office page itself, sandbox/backoffice.py)."""

    TYPE = "AWS::CloudFront::Distribution"
    ATTRIBUTES = ("Id", "DomainName")

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> _Resource:
        distribution = "E" + hashlib.sha256(f"{account_id}/{region_name}/{name}".encode()).hexdigest()[:13].upper()
        return cls(distribution, {"Id": distribution, "DomainName": f"{distribution.lower()}.cloudfront.net"})


class _OriginAccessControl(_Resource):
    """The distribution's origin access control: recorded with an id (its bucket policy names the distribution)."""

    TYPE = "AWS::CloudFront::OriginAccessControl"
    ATTRIBUTES = ("Id",)

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> _Resource:
        control = "E" + hashlib.sha256(f"{account_id}/{region_name}/{name}/oac".encode()).hexdigest()[:13].upper()
        return cls(control, {"Id": control})


class _ApiStage(_Resource):
    """An API's stage: created in moto's API Gateway (get-stage answers as AWS does); its Ref is the stage
    name, which the API's URL outputs join in (moto leaves it None: https://....amazonaws.com/None/)."""

    TYPE = "AWS::ApiGateway::Stage"

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> _Resource:
        from moto.apigateway.models import apigateway_backends

        stage = properties["StageName"]
        apigateway_backends[account_id][region_name].create_stage(
            properties["RestApiId"],
            stage,
            properties["DeploymentId"],
            variables=properties.get("Variables"),
            description=properties.get("Description", ""),
            tracing_enabled=properties.get("TracingEnabled"),
        )
        return cls(stage)


class _UserPool(_Resource):
    """The back office's Cognito user pool, created in moto's Cognito (sign-in, tokens, groups work as the API's)."""

    TYPE = "AWS::Cognito::UserPool"
    ATTRIBUTES = ("Arn", "ProviderName", "ProviderURL", "UserPoolId")
    _SETTINGS = ("AliasAttributes", "UsernameAttributes", "Policies", "AdminCreateUserConfig", "MfaConfiguration")

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> _Resource:
        from moto.cognitoidp.models import cognitoidp_backends

        settings = {key: properties[key] for key in cls._SETTINGS if key in properties}
        pool = cognitoidp_backends[account_id][region_name].create_user_pool(
            properties.get("UserPoolName", name), settings
        )
        provider = f"cognito-idp.{region_name}.amazonaws.com/{pool.id}"
        return cls(
            pool.id,
            {"Arn": pool.arn, "ProviderName": provider, "ProviderURL": f"https://{provider}", "UserPoolId": pool.id},
        )


class _UserPoolClient(_Resource):
    TYPE = "AWS::Cognito::UserPoolClient"
    ATTRIBUTES = ("ClientId", "Name")

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> _Resource:
        from moto.cognitoidp.models import cognitoidp_backends

        settings = {
            "ClientName": properties.get("ClientName", name),
            "ExplicitAuthFlows": properties.get("ExplicitAuthFlows", []),
        }
        client = cognitoidp_backends[account_id][region_name].create_user_pool_client(
            properties["UserPoolId"], bool(properties.get("GenerateSecret")), settings
        )
        return cls(client.id, {"ClientId": client.id, "Name": settings["ClientName"]})


class _UserPoolGroup(_Resource):
    TYPE = "AWS::Cognito::UserPoolGroup"

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> _Resource:
        from moto.cognitoidp.models import cognitoidp_backends

        group = properties.get("GroupName", name)
        cognitoidp_backends[account_id][region_name].create_group(
            properties["UserPoolId"],
            group,
            properties.get("Description", ""),
            properties.get("RoleArn", ""),
            properties.get("Precedence"),  # type: ignore[arg-type]  # AWS leaves it null when the template does
        )
        return cls(group)


class _BucketDeployment(_Resource):
    """CDK's BucketDeployment is a custom resource whose handler (aws-cdk-lib's, with the AWS CLI in a layer)
    cannot run in the sandbox: moto would invoke it and wait for its answer, leaving the stack
    CREATE_IN_PROGRESS. It is completed here; the sandbox serves web/ itself (sandbox/backoffice.py)."""

    TYPE = "Custom::CDKBucketDeployment"

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> _Resource:
        return cls(f"aws.cdk.s3deployment.{name}")


_MISSING_MODELS = {
    m.TYPE: m
    for m in (
        _EventInvokeConfig,
        _QueuePolicy,
        _EventBusPolicy,
        _SchemaRegistry,
        _Schema,
        _Distribution,
        _OriginAccessControl,
        _ApiStage,
        _UserPool,
        _UserPoolClient,
        _UserPoolGroup,
        _BucketDeployment,
    )
}


def _resource_class_from_type(resource_type: str) -> Any:
    if resource_type in _MISSING_MODELS:
        return _MISSING_MODELS[resource_type]
    return original("cfn-missing-types")(resource_type)


register(
    "cfn-missing-types",
    "moto's CloudFormation skips resource types it has no model for (with a warning), and fails the "
    "whole stack when an output reads an attribute of one ('NoneType' has no attribute 'has_cfn_attr'). "
    "This stack uses five: AWS::Lambda::EventInvokeConfig (the subscribers' async retries and on-failure "
    "queue), AWS::SQS::QueuePolicy, AWS::Events::EventBusPolicy, AWS::EventSchemas::Registry and ::Schema; "
    "AWS::CloudFront::Distribution (the page's address is its DomainName) and ::OriginAccessControl; and "
    "AWS::ApiGateway::Stage (its Ref, the stage name, is in the API's URL: moto gives .../None/); and "
    "AWS::Cognito::UserPool, ::UserPoolClient and ::UserPoolGroup (the back office's users: without them "
    "describe-stacks has no BackOfficeUserPoolId). CDK's "
    "Custom::CDKBucketDeployment has a model (moto's custom resources) that invokes its handler, which cannot "
    "run in the sandbox, and waits for an answer that never comes: the stack stays CREATE_IN_PROGRESS.",
    {("moto.cloudformation.parsing:", "resource_class_from_type"): _resource_class_from_type},
)
