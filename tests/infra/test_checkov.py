"""checkov, a second scanner, on every synthesized template: nothing unaddressed, every skip with a reason.

checkov runs offline (``--skip-download``) from its own pinned venv (.venv-checkov, made by `make setup`:
its exact boto3 pin conflicts with the project's). A skip is written on its resource by infra/checkov.py,
from what the resource is; a function of no known role gets none, so checkov fails on it.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from infra.checkov import METADATA_KEY, add_checkov_skips
from infra.code_asset import REPO_ROOT
from tests.synth import Synthesized, checkov_assembly

PINNED = (REPO_ROOT / "requirements-checkov.txt").read_text().split("checkov==")[1].split()[0]
PROBES = ("Subscriber", "NoDeadLetters", "Scheduled", "Api", "Tool", "PeopleTool", "FunctionCalled")
FUNCTION_CHECKS = {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"}


@pytest.fixture(scope="module")
def checkov_report(synthesized: Synthesized) -> dict[str, Any]:
    return checkov_assembly(synthesized)


def test_checkov_finds_nothing_unaddressed_in_any_template(checkov_report: dict[str, Any]) -> None:
    summary = checkov_report["summary"]
    assert summary["checkov_version"] == PINNED
    assert summary["parsing_errors"] == 0
    failed = [f"{f['check_id']} {f['resource']}: {f['check_name']}" for f in checkov_report["results"]["failed_checks"]]
    assert not failed, "fix each, or give its resource a reason in infra/checkov.py:\n" + "\n".join(failed)
    assert summary["passed"] > 300, summary  # the scanner did read the templates


def test_every_skip_carries_its_reason(synthesized: Synthesized, checkov_report: dict[str, Any]) -> None:
    skips = [
        (name, skip)
        for name, resource in synthesized.template["Resources"].items()
        for skip in resource.get("Metadata", {}).get(METADATA_KEY, {}).get("skip", [])
    ]
    assert skips, "expected the documented skips on the resources"
    for name, skip in skips:
        assert skip["id"].startswith("CKV_"), (name, skip)
        assert len(skip.get("comment", "").strip()) >= 100, f"{name} {skip['id']}: reason too thin"
    # checkov read each of them, and skipped nothing that was not written on a resource.
    skipped = checkov_report["results"]["skipped_checks"]
    assert {(s["resource"].split(".")[-1], s["check_id"]) for s in skipped} == {(n, s["id"]) for n, s in skips}
    assert all(s["check_result"].get("suppress_comment", "").strip() for s in skipped)


def test_function_log_groups_are_under_a_customer_managed_key(synthesized: Synthesized) -> None:
    keys = synthesized.resources("AWS::KMS::Key")
    groups = synthesized.resources("AWS::Logs::LogGroup")
    plain = [
        name
        for name, group in groups.items()
        if group["Properties"].get("KmsKeyId", {}).get("Fn::GetAtt", [""])[0] not in keys
    ]
    assert groups and not plain


def _skips(template: Template, resource_type: str) -> dict[str, set[str]]:
    return {
        name: {s["id"] for s in resource.get("Metadata", {}).get(METADATA_KEY, {}).get("skip", [])}
        for name, resource in template.find_resources(resource_type).items()
    }


def test_a_function_of_no_known_role_gets_no_skip() -> None:
    """Skips follow how the template invokes a function: a new kind of function must get its own reasons."""
    stack = Stack(App(), "Probe")
    add_checkov_skips(stack)
    code = lambda_.Code.from_inline("def handler(event, context): pass")

    def function(name: str) -> lambda_.Function:
        return lambda_.Function(stack, name, runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler", code=code)

    bus = events.EventBus(stack, "Bus")
    dlq = sqs.Queue(stack, "DeadLetters", encryption=sqs.QueueEncryption.SQS_MANAGED)
    # a subscriber as infra/subscribers.py makes one: rule target with a DLQ, on-failure destination
    subscriber = function("Subscriber")
    subscriber.configure_async_invoke(on_failure=destinations.SqsDestination(dlq))
    events.Rule(
        stack,
        "SubscriberRule",
        event_bus=bus,
        event_pattern=events.EventPattern(source=["x"]),
        targets=[targets.LambdaFunction(subscriber, dead_letter_queue=dlq)],
    )
    # the same, without a dead-letter queue: not a subscriber as the reasons describe it
    no_dlq = function("NoDeadLetters")
    events.Rule(
        stack,
        "NoDlqRule",
        event_bus=bus,
        event_pattern=events.EventPattern(source=["x"]),
        targets=[targets.LambdaFunction(no_dlq)],
    )
    scheduled = function("Scheduled")
    events.Rule(
        stack, "Every5", schedule=events.Schedule.rate(Duration.minutes(5)), targets=[targets.LambdaFunction(scheduled)]
    )
    # invoked by something else (here a function URL, as an API handler would be): unknown
    api = function("Api")
    api.add_function_url(auth_type=lambda_.FunctionUrlAuthType.AWS_IAM)
    # an operator tool with a secret in its environment: no environment skip
    tool = function("Tool")
    tool.add_environment("PAYMENT_API_KEY", "sk_live_x")
    # an operator tool that people call through a role only people assume (as the reviewers' role): operator
    people_tool = function("PeopleTool")
    people_tool.grant_invoke(iam.Role(stack, "PeopleRole", assumed_by=iam.AccountPrincipal("123456789012")))
    # one that another function calls (its role is assumed by Lambda): unknown
    function_called = function("FunctionCalled")
    function_called.grant_invoke(iam.Role(stack, "Caller", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")))
    unencrypted = sqs.Queue(stack, "Plain", encryption=sqs.QueueEncryption.UNENCRYPTED)

    template = Template.from_stack(stack)
    skips = _skips(template, "AWS::Lambda::Function")
    found = {prefix: ids for name, ids in skips.items() for prefix in PROBES if name.startswith(prefix)}
    assert found["Subscriber"] == FUNCTION_CHECKS
    assert found["Scheduled"] == FUNCTION_CHECKS
    assert found["NoDeadLetters"] == set()
    assert found["Api"] == set()
    assert found["Tool"] == FUNCTION_CHECKS - {"CKV_AWS_173"}
    assert found["PeopleTool"] == FUNCTION_CHECKS
    assert found["FunctionCalled"] == set()
    queues = _skips(template, "AWS::SQS::Queue")
    assert queues[stack.get_logical_id(dlq.node.default_child)] == {"CKV_AWS_27"}  # type: ignore[arg-type]
    assert queues[stack.get_logical_id(unencrypted.node.default_child)] == set()  # type: ignore[arg-type]
