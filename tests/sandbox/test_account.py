"""The Sandbox's own API over a deployed template."""

from __future__ import annotations

from pathlib import Path

from sandbox import lambda_runtime
from sandbox.account import Sandbox
from sandbox.deploy import custom_resource_providers


def test_function_specs_are_the_deployed_functions_as_the_sandbox_runs_them(cdk_out: Path) -> None:
    with Sandbox(cdk_out) as sandbox:
        specs = {spec.name: spec for spec in sandbox.function_specs()}
        lambda_client = sandbox.client("lambda")
        pages = lambda_client.get_paginator("list_functions").paginate()
        deployed = {f["FunctionName"]: f for page in pages for f in page["Functions"]}
        # Custom resources' providers (CDK's BucketDeployment handler) are deployed, never run by the sandbox.
        assert sandbox.deployment is not None
        providers = {
            sandbox.deployment.resources[logical].physical_id
            for logical in custom_resource_providers(sandbox.deployment.template)
        }
        assert providers and set(specs) == set(deployed) - providers
        deployed = {name: f for name, f in deployed.items() if name not in providers}
        for name, configuration in deployed.items():
            spec = specs[name]
            assert (spec.arn, spec.handler) == (configuration["FunctionArn"], configuration["Handler"])
            assert dict(spec.environment) == configuration["Environment"]["Variables"]
            assert lambda_runtime.lambda_environment(spec)["AWS_LAMBDA_LOG_GROUP_NAME"] == spec.log_group_name
            assert spec.log_group is not None  # the function's own log group from the template, not /aws/lambda/
