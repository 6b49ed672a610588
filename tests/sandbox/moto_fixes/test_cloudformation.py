"""CloudFormation fixes (sandbox/moto_fixes/cloudformation.py): moto is still broken without each, and it works."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox.account import ACCOUNT_ID, Sandbox
from sandbox.moto_fixes import suspended
from tests.sandbox.moto_fixes.support import (
    ROLE,
    create_function,
    deploy_stack,
    run_machine,
    wait_for,
)

FIFO = {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"FifoQueue": True}}}
BUS = {"Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "fix-bus"}}}
ARCHIVE = {
    "Archive": {
        "Type": "AWS::Events::Archive",
        "Properties": {"SourceArn": {"Fn::GetAtt": ["Bus", "Arn"]}, "EventPattern": {"source": ["a"]}},
    }
}


def test_generated_names_without_fix(account: Sandbox) -> None:
    with suspended("cfn-generated-names"), pytest.raises(Exception, match=r"\.fifo"):
        deploy_stack(account, FIFO)
    long_logical_id = {"EventsBusArchiveOfEveryOrderEvent3AC72948": ARCHIVE["Archive"]}
    with suspended("cfn-generated-names"), pytest.raises(Exception, match="48"):
        deploy_stack(account, {**BUS, **long_logical_id})


def test_generated_names_with_fix(account: Sandbox) -> None:
    long_logical_id = {"EventsBusArchiveOfEveryOrderEvent3AC72948": ARCHIVE["Archive"]}
    outputs = deploy_stack(
        account, {**FIFO, **BUS, **long_logical_id}, {"Queue": {"Fn::GetAtt": ["Queue", "QueueName"]}}
    )
    assert outputs["Queue"].endswith(".fifo") and len(outputs["Queue"]) <= 80
    archives = account.client("events").list_archives()["Archives"]
    assert archives and all(len(a["ArchiveName"]) <= 48 for a in archives)


def test_archive_pattern_without_fix(account: Sandbox) -> None:
    named = {"Archive": {**ARCHIVE["Archive"], "Properties": {**ARCHIVE["Archive"]["Properties"], "ArchiveName": "a"}}}
    with suspended("cfn-archive-pattern"), pytest.raises(Exception, match="must be str"):
        deploy_stack(account, {**BUS, **named})


def test_archive_pattern_with_fix(account: Sandbox) -> None:
    deploy_stack(account, {**BUS, **ARCHIVE})
    archive = account.client("events").list_archives()["Archives"][0]
    described = account.client("events").describe_archive(ArchiveName=archive["ArchiveName"])
    assert json.loads(described["EventPattern"]) == {"source": ["a"]}


def test_event_bus_ref_without_fix(account: Sandbox) -> None:
    with suspended("cfn-event-bus-ref"):
        assert "<moto.events.models.EventBus" in deploy_stack(account, BUS, {"Name": {"Ref": "Bus"}})["Name"]


def test_event_bus_ref_with_fix(account: Sandbox) -> None:
    assert deploy_stack(account, BUS, {"Name": {"Ref": "Bus"}})["Name"] == "fix-bus"


REGISTRY = {"Registry": {"Type": "AWS::EventSchemas::Registry", "Properties": {"RegistryName": "fix-registry"}}}


def test_missing_types_without_fix(account: Sandbox) -> None:
    with suspended("cfn-missing-types"), pytest.raises(Exception, match="has_cfn_attr"):
        deploy_stack(account, REGISTRY, {"Registry": {"Fn::GetAtt": ["Registry", "RegistryName"]}})


def test_missing_types_with_fix(account: Sandbox) -> None:
    function = create_function(account, "echo")
    queue = account.client("sqs").create_queue(QueueName="fix-dlq")["QueueUrl"]
    dlq_arn = f"arn:aws:sqs:eu-west-1:{ACCOUNT_ID}:fix-dlq"
    invoke_config = {
        "Type": "AWS::Lambda::EventInvokeConfig",
        "Properties": {
            "FunctionName": function,
            "Qualifier": "$LATEST",
            "MaximumRetryAttempts": 1,
            "DestinationConfig": {"OnFailure": {"Destination": dlq_arn}},
        },
    }
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sqs:*"}]}
    policy = {"Type": "AWS::SQS::QueuePolicy", "Properties": {"Queues": [queue], "PolicyDocument": document}}
    outputs = deploy_stack(
        account,
        {**REGISTRY, "Config": invoke_config, "Policy": policy},
        {"Registry": {"Fn::GetAtt": ["Registry", "RegistryName"]}},
    )
    assert outputs["Registry"] == "fix-registry"
    stored = account.client("lambda").get_function_event_invoke_config(FunctionName=function)
    assert stored["MaximumRetryAttempts"] == 1
    attributes = account.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["Policy"])["Attributes"]
    assert json.loads(attributes["Policy"]) == document


STATE_MACHINE = {
    "Machine": {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "RoleArn": ROLE,
            "DefinitionString": json.dumps(
                {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "${Greeting}", "End": True}}}
            ),
            "DefinitionSubstitutions": {"Greeting": "hello"},
        },
    }
}


def test_state_machine_without_fix(account: Sandbox) -> None:
    with suspended("cfn-state-machine"):
        arn = deploy_stack(account, STATE_MACHINE, {"Arn": {"Ref": "Machine"}})["Arn"]
        with pytest.raises(Exception, match=r"(?i)does not exist"):  # not in the executing backend
            account.client("stepfunctions").describe_state_machine(stateMachineArn=arn)


def test_state_machine_with_fix(account: Sandbox) -> None:
    arn = deploy_stack(account, STATE_MACHINE, {"Arn": {"Ref": "Machine"}})["Arn"]
    assert "${" not in account.client("stepfunctions").describe_state_machine(stateMachineArn=arn)["definition"]
    described = wait_for(account, run_machine(account, arn))
    assert described["status"] == "SUCCEEDED" and "hello" in described["output"], described


def _page(service_token: str) -> dict[str, Any]:
    """The back-office page's resources as CDK writes them: a distribution, its access control, the deployment."""
    return {
        "Control": {"Type": "AWS::CloudFront::OriginAccessControl", "Properties": {"OriginAccessControlConfig": {}}},
        "Distribution": {
            "Type": "AWS::CloudFront::Distribution",
            "Properties": {"DistributionConfig": {"Comment": {"Fn::GetAtt": ["Control", "Id"]}}},
        },
        "Page": {
            "Type": "Custom::CDKBucketDeployment",
            "Properties": {"ServiceToken": service_token, "DestinationBucketName": "fix-page"},
        },
    }


def test_page_types_without_fix(account: Sandbox) -> None:
    token = f"arn:aws:lambda:eu-west-1:{ACCOUNT_ID}:function:{create_function(account, 'echo')}"
    with suspended("cfn-missing-types"), pytest.raises(Exception, match="has_cfn_attr"):
        deploy_stack(account, _page(token), {"Domain": {"Fn::GetAtt": ["Distribution", "DomainName"]}})
    page_only = {"Page": _page(token)["Page"]}
    with suspended("cfn-missing-types"):
        deploy_stack(account, page_only)
    stacks = account.client("cloudformation").describe_stacks()["Stacks"]
    assert stacks[-1]["StackStatus"] == "CREATE_IN_PROGRESS"  # waits for the handler's answer, for ever


def test_page_types_with_fix(account: Sandbox) -> None:
    token = f"arn:aws:lambda:eu-west-1:{ACCOUNT_ID}:function:not-runnable-here"
    outputs = deploy_stack(account, _page(token), {"Domain": {"Fn::GetAtt": ["Distribution", "DomainName"]}})
    assert outputs["Domain"].endswith(".cloudfront.net")
    stacks = account.client("cloudformation").describe_stacks()["Stacks"]
    assert stacks[-1]["StackStatus"] == "CREATE_COMPLETE"


def _preflight() -> dict[str, Any]:
    """CDK's CORS preflight: an OPTIONS method with a MOCK integration (no IntegrationHttpMethod, no Uri)."""
    return {
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "fix-api"}},
        "Preflight": {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "ResourceId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                "HttpMethod": "OPTIONS",
                "AuthorizationType": "NONE",
                "Integration": {"Type": "MOCK", "RequestTemplates": {"application/json": "{ statusCode: 200 }"}},
            },
        },
    }


def test_mock_method_without_fix(account: Sandbox) -> None:
    with suspended("cfn-mock-method"), pytest.raises(Exception):  # noqa: B017 (moto answers a 500: no XML)
        deploy_stack(account, _preflight())


def test_mock_method_with_fix(account: Sandbox) -> None:
    deploy_stack(account, _preflight())
    api = account.client("apigateway").get_rest_apis()["items"][-1]
    (root,) = account.client("apigateway").get_resources(restApiId=api["id"])["items"]
    method = account.client("apigateway").get_method(restApiId=api["id"], resourceId=root["id"], httpMethod="OPTIONS")
    assert method["methodIntegration"]["type"] == "MOCK"


def _staged_api() -> dict[str, Any]:
    """An API deployed to a stage as CDK writes it: the stage is its own resource, and the URL joins its Ref."""
    return {
        **_preflight(),
        "Deployment": {
            "Type": "AWS::ApiGateway::Deployment",
            "Properties": {"RestApiId": {"Ref": "Api"}},
            "DependsOn": ["Preflight"],
        },
        "Stage": {
            "Type": "AWS::ApiGateway::Stage",
            "Properties": {"RestApiId": {"Ref": "Api"}, "DeploymentId": {"Ref": "Deployment"}, "StageName": "dev"},
        },
    }


STAGE_URL = {
    "Url": {"Fn::Join": ["", ["https://", {"Ref": "Api"}, ".execute-api.amazonaws.com/", {"Ref": "Stage"}, "/"]]}
}


def test_api_stage_without_fix(account: Sandbox) -> None:
    with suspended("cfn-missing-types"):
        assert deploy_stack(account, _staged_api(), STAGE_URL)["Url"].endswith("/None/")


def test_api_stage_with_fix(account: Sandbox) -> None:
    assert deploy_stack(account, _staged_api(), STAGE_URL)["Url"].endswith(".execute-api.amazonaws.com/dev/")
    api = account.client("apigateway").get_rest_apis()["items"][-1]
    stage = account.client("apigateway").get_stage(restApiId=api["id"], stageName="dev")
    assert stage["stageName"] == "dev" and stage["deploymentId"]


def test_api_deployment_ref_without_fix(account: Sandbox) -> None:
    with suspended("cfn-api-deployment-ref"):
        deploy_stack(account, _staged_api())
    api = account.client("apigateway").get_rest_apis()["items"][-1]
    with pytest.raises(Exception, match="not JSON serializable"):  # the stage holds the moto object
        account.client("apigateway").get_stage(restApiId=api["id"], stageName="dev")


def test_api_deployment_ref_with_fix(account: Sandbox) -> None:
    deployment = deploy_stack(account, _staged_api(), {"Deployment": {"Ref": "Deployment"}})["Deployment"]
    api = account.client("apigateway").get_rest_apis()["items"][-1]
    assert account.client("apigateway").get_stage(restApiId=api["id"], stageName="dev")["deploymentId"] == deployment


USERS = {
    "Pool": {"Type": "AWS::Cognito::UserPool", "Properties": {"AliasAttributes": ["email"]}},
    "Client": {
        "Type": "AWS::Cognito::UserPoolClient",
        "Properties": {"UserPoolId": {"Ref": "Pool"}, "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH"]},
    },
    "Reviewers": {
        "Type": "AWS::Cognito::UserPoolGroup",
        "Properties": {"UserPoolId": {"Ref": "Pool"}, "GroupName": "r"},
    },
}
USER_OUTPUTS = {"PoolId": {"Ref": "Pool"}, "ClientId": {"Ref": "Client"}, "PoolArn": {"Fn::GetAtt": ["Pool", "Arn"]}}


def test_user_pool_without_fix(account: Sandbox) -> None:
    with suspended("cfn-missing-types"), pytest.raises(Exception, match="has_cfn_attr"):
        deploy_stack(account, USERS, USER_OUTPUTS)
    assert account.client("cognito-idp").list_user_pools(MaxResults=10)["UserPools"] == []


def test_user_pool_with_fix(account: Sandbox) -> None:
    outputs = deploy_stack(account, USERS, USER_OUTPUTS)
    idp = account.client("cognito-idp")
    assert idp.describe_user_pool(UserPoolId=outputs["PoolId"])["UserPool"]["Arn"] == outputs["PoolArn"]
    client = idp.describe_user_pool_client(UserPoolId=outputs["PoolId"], ClientId=outputs["ClientId"])
    assert client["UserPoolClient"]["ExplicitAuthFlows"] == ["ALLOW_USER_PASSWORD_AUTH"]
    assert [g["GroupName"] for g in idp.list_groups(UserPoolId=outputs["PoolId"])["Groups"]] == ["r"]
