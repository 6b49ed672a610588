"""The Sandbox's own API over a deployed template."""

from __future__ import annotations

import time
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


def test_closing_a_sandbox_stops_its_executions_so_none_runs_on_into_the_next(cdk_out: Path) -> None:
    """moto's backends and hooks are process-wide and each execution has its own thread: an order still waiting for
    its review when its sandbox closes must not wake up inside the next sandbox the process opens (it once put a test's
    order on another test's bus)."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    from sandbox import demo, scenarios
    from sandbox.account import ACCOUNT_ID

    with Sandbox(cdk_out, seed_catalog=scenarios.CATALOG_PATH) as first:
        shop = scenarios.Storefront(scenarios.load_catalog(), demo.deployed_pricing(first))
        order = shop.order("left-waiting", [("TEE-ORGANIC-M", 1)], token="tok_review_nobody_looks")
        runner = first.runner()
        arn = runner.start(order)
        backend = stepfunctions_parser_backends[ACCOUNT_ID][first.region]
        execution = backend.describe_execution(arn)
        deadline = time.monotonic() + 30
        while "WaitForPaymentReview" not in _entered_states(first, arn) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "WaitForPaymentReview" in _entered_states(first, arn)
    assert execution.status == "ABORTED"

    with Sandbox(cdk_out) as second:
        first.clock.advance(10 * 24 * 3600)  # past the review timeout of the order left waiting
        time.sleep(1)  # a thread left running would compensate now, through the second sandbox's hooks
        assert second.invocations == []


def _entered_states(sandbox: Sandbox, arn: str) -> set[str]:
    history = sandbox.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return {e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e}
