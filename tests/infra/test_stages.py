"""Stages side by side (issue 14): `-c stage=NAME` is an independent copy of the stack.

dev (the default) and prod are synthesized; they share no physical name, take their settings from
cdk.json's "stages", and both deploy into one sandbox account, where an order goes through each.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from infra import config, names
from infra.config import StackConfig
from lambdas.shared import constants
from orderctl.__main__ import main as orderctl_main
from tests.infra.synth_support import flatten, own_functions, synthesize_for
from tests.synth import Synthesized

# Properties that name a resource in its account (and region): two stages must not share one.
PHYSICAL_NAME_KEYS = {
    "AlarmName",
    "DashboardName",
    "RegistryName",
    "Name",
    "StatementId",
    "LogGroupName",
    "EmailIdentity",
    "TopicName",
    "QueueName",
    "TableName",
    "FunctionName",
    "RoleName",
    "StateMachineName",
    "ArchiveName",
    "ScheduleName",
    "RuleName",
}
# A schema's name is scoped by its registry (which carries the stage); API Gateway does not require a REST
# API's name to be unique (but its metrics' ApiName dimension is the name: see the report on infra/api.py).
NAMED_WITHIN_A_PARENT_OR_NOT_UNIQUE = {"AWS::EventSchemas::Schema", "AWS::ApiGateway::RestApi"}
# The kinds of name that carry the stage itself (an SES identity is the configured address or domain).
STAGE_NAMED = (
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::EventSchemas::Registry",
    "AWS::SSM::Parameter",
    "AWS::Events::EventBusPolicy",
    "AWS::Logs::LogGroup",
)


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize_for(tmp_path_factory.mktemp("prod"), {"stage": "prod"})


def physical_names(synthesized: Synthesized) -> dict[tuple[str, str], str]:
    """(resource type, literal name) -> logical id, for every name the template fixes."""
    found = {}
    for logical_id, resource in synthesized.template["Resources"].items():
        if resource["Type"] in NAMED_WITHIN_A_PARENT_OR_NOT_UNIQUE:
            continue
        for key, value in resource.get("Properties", {}).items():
            if key in PHYSICAL_NAME_KEYS and isinstance(value, str):
                found[(resource["Type"], value)] = logical_id
    return found


def test_two_stages_share_no_physical_name(synthesized: Synthesized, prod: Synthesized) -> None:
    dev_names, prod_names = physical_names(synthesized), physical_names(prod)
    assert set(dev_names) & set(prod_names) == set()
    assert synthesized.template_path.name != prod.template_path.name  # two stacks
    for stage, found in (("dev", dev_names), ("prod", prod_names)):
        stage_named = [(kind, name) for kind, name in found if kind in STAGE_NAMED]
        assert len(stage_named) > 20, stage_named  # alarms, dashboard, registry, SSM, statement, log group
        for kind, name in stage_named:
            assert stage in name, (kind, name)


def test_the_default_stage_keeps_the_stack_name_the_tools_look_up(synthesized: Synthesized, prod: Synthesized) -> None:
    assert synthesized.template_path.name == f"{constants.STACK_NAME}.template.json"
    assert prod.template_path.name == f"{constants.STACK_NAME}-prod.template.json"
    assert synthesized.template["Outputs"][names.OUTPUT_STAGE]["Value"] == "dev"
    assert prod.template["Outputs"][names.OUTPUT_STAGE]["Value"] == "prod"


def test_stage_names_and_paths(synthesized: Synthesized, prod: Synthesized) -> None:
    parameters = {p["Properties"]["Name"] for p in prod.resources("AWS::SSM::Parameter").values()}
    assert parameters == {
        f"/orders/prod/event-bus/{key}" for key in ("name", "arn", "archive-arn", "schema-registry-name")
    }
    statements = [p["Properties"] for p in prod.resources("AWS::Events::EventBusPolicy").values()]
    assert "orders-prod-PublishFromThisAccount" in {s["StatementId"] for s in statements}
    assert all(
        s["StatementId"].startswith("orders-prod-") and s["Statement"]["Sid"] == s["StatementId"] for s in statements
    )
    (registry,) = prod.resources("AWS::EventSchemas::Registry").values()
    assert registry["Properties"]["RegistryName"] == "OrderProcessing-prod-events"
    # Step Functions' execution log under /aws/vendedlogs/ (no growing CloudWatch Logs resource policy).
    named = [g["Properties"].get("LogGroupName") for g in prod.resources("AWS::Logs::LogGroup").values()]
    assert [n for n in named if n] == ["/aws/vendedlogs/states/prod-OrderProcessing-executions"]
    machine = prod.one("AWS::StepFunctions::StateMachine")["Properties"]
    (destination,) = machine["LoggingConfiguration"]["Destinations"]
    assert "WorkflowExecutionLogs" in json.dumps(destination)
    (dashboard,) = prod.resources("AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == "OrderProcessing-prod-operations"


def test_prod_takes_its_settings_from_cdk_json(synthesized: Synthesized, prod: Synthesized) -> None:
    stages = json.loads(Path("cdk.json").read_text())["context"]["stages"]
    settings = stages["prod"]
    retention = {g["Properties"].get("RetentionInDays") for g in prod.resources("AWS::Logs::LogGroup").values()}
    assert retention == {settings["logRetentionDays"]}
    assert prod.one("AWS::Events::Archive")["Properties"]["RetentionDays"] == settings["eventArchiveRetentionDays"]
    # prod verifies the sender's domain, dev the address: two identities.
    assert prod.one("AWS::SES::EmailIdentity")["Properties"]["EmailIdentity"] == "example.com"
    assert (
        synthesized.one("AWS::SES::EmailIdentity")["Properties"]["EmailIdentity"] == config.DEFAULT_NOTIFICATION_SENDER
    )


def metric_namespaces(synthesized: Synthesized) -> set[str]:
    """Every CloudWatch namespace of our own metrics the template names: what the functions publish under
    (Powertools' environment variable), the metric filters' and the alarms' namespaces, the dashboard's
    graphs and searches. AWS's own namespaces (AWS/Lambda, AWS/States...) are left out."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("Namespace", "MetricNamespace", names.ENV_POWERTOOLS_NAMESPACE) and isinstance(item, str):
                    found.add(item)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(synthesized.template["Resources"])
    for dashboard in synthesized.resources("AWS::CloudWatch::Dashboard").values():
        body = flatten(dashboard["Properties"]["DashboardBody"])
        found.update(re.findall(r"SEARCH\('\{([^,}]+)", body))  # SEARCH('{namespace,dimension} ...')
        found.update(re.findall(r'"metrics":\[\["([^"]+)"', body))  # a graph's first metric: [namespace, name, ...]
    return {namespace for namespace in found if not namespace.startswith("AWS/")}


def test_each_stage_publishes_and_alarms_on_metrics_in_a_namespace_of_its_own(
    synthesized: Synthesized, prod: Synthesized
) -> None:
    # Two stages in one account: one namespace would add prod's orders to dev's alarms and dashboard.
    assert metric_namespaces(synthesized) == {names.metrics_namespace("dev")}
    assert metric_namespaces(prod) == {names.metrics_namespace("prod")}
    assert names.metrics_namespace("dev") != names.metrics_namespace("prod")
    for stage, found in (("dev", synthesized), ("prod", prod)):
        functions = own_functions(found)
        assert functions, stage
        for function_id, properties in functions.items():
            variables = properties["Properties"]["Environment"]["Variables"]
            assert variables[names.ENV_POWERTOOLS_NAMESPACE] == names.metrics_namespace(stage), function_id


def _config(context: dict[str, Any]) -> StackConfig:
    return StackConfig.from_node(App(context=context).node)


def test_a_top_level_key_wins_over_the_stages_own() -> None:
    stages = {"prod": {"logRetentionDays": 90, "reviewTimeoutHours": 24}}
    assert _config({"stage": "prod", "stages": stages}).log_retention_days == 90
    overridden = _config({"stage": "prod", "stages": stages, "logRetentionDays": 7})
    assert (overridden.log_retention_days, overridden.review_timeout_seconds) == (7, 24 * 3600)
    assert _config({"stages": stages}).log_retention_days == config.DEFAULT_LOG_RETENTION_DAYS  # dev
    assert _config({"stage": "alice"}).stage == "alice"  # a stage needs no block of its own


CONFIGURATION_ROW = re.compile(r"^\| `(\w+)` \|", re.MULTILINE)


def test_every_setting_a_stage_may_take_is_documented() -> None:
    # docs/OPERATIONS.md's configuration table: a key missing there is a setting nobody finds.
    operations = Path("docs/OPERATIONS.md").read_text()
    table = operations[operations.index("## Configuration (context keys)") :]
    documented = set(CONFIGURATION_ROW.findall(table))
    assert {config.CTX_STAGE, config.CTX_STAGES, *config.STAGE_KEYS} - documented == set()


DOCUMENTED_DEFAULT = re.compile(r"^\| `(\w+)` \| ([\w.@-]+) \|", re.MULTILINE)


SCALAR_DEFAULTS = {
    config.CTX_STAGE: lambda c: c.stage,
    config.CTX_REVIEW_TIMEOUT_HOURS: lambda c: c.review_timeout_seconds // 3600,
    config.CTX_PAYMENT_REVIEW_THRESHOLD_CENTS: lambda c: c.payment_review_threshold_cents,
    config.CTX_LOG_RETENTION_DAYS: lambda c: c.log_retention_days,
    config.CTX_ARCHIVE_RETENTION_DAYS: lambda c: c.archive_retention_days,
    config.CTX_NOTIFICATION_SENDER: lambda c: c.notification_sender,
    config.CTX_SENDER_IDENTITY: lambda c: c.sender_identity,
}


def test_the_documented_defaults_are_the_stacks() -> None:
    # Each default is written once, in infra/ (config.py, defaults.py); the table repeats it for readers, so a
    # changed default must change it too. Rows whose default is a phrase ("the AWS-published layer") are prose.
    operations = Path("docs/OPERATIONS.md").read_text()
    table = operations[operations.index("## Configuration (context keys)") :]
    documented = dict(DOCUMENTED_DEFAULT.findall(table))
    default = StackConfig()
    assert {key: documented.get(key) for key in SCALAR_DEFAULTS} == {
        key: str(read(default)) for key, read in SCALAR_DEFAULTS.items()
    }


# Prose elsewhere names a key's default as "`key` (default VALUE": e.g. docs/WORKFLOW.md's review threshold.
PROSE_DEFAULT = re.compile(r"`(\w+)` \(default `?([\w.@-]+)`?")


def test_defaults_named_in_prose_are_the_stacks() -> None:
    documents = [Path("README.md"), *sorted(Path("docs").glob("*.md"))]
    named = [(str(path), key, value) for path in documents for key, value in PROSE_DEFAULT.findall(path.read_text())]
    default = StackConfig()
    checked = [(path, key, value) for path, key, value in named if key in SCALAR_DEFAULTS]
    assert checked, "no document names a context key's default in prose"
    assert [(path, key, value) for path, key, value in checked if value != str(SCALAR_DEFAULTS[key](default))] == []


SSM_PATH = re.compile(r"/orders/[^\s`\"')]*event-bus/[\w.-]*")


def test_the_docs_name_the_ssm_parameters_a_stage_writes(prod: Synthesized) -> None:
    # Another team's stack imports the bus by these paths: one without the stage finds no parameter.
    parameters = {p["Properties"]["Name"] for p in prod.resources("AWS::SSM::Parameter").values()}
    written = {name.replace("/prod/", f"/{stage}/") for name in parameters for stage in ("prod", "dev", "<stage>")}
    written.update(names.ssm_parameter(stage, "...") for stage in ("prod", "dev", "<stage>"))
    documents = [Path("README.md"), *sorted(Path("docs").glob("*.md"))]
    found = {(str(path), match) for path in documents for match in SSM_PATH.findall(path.read_text())}
    assert found, "no document names the bus's SSM parameters"
    assert {(path, match) for path, match in found if match not in written} == set()


def test_each_stage_has_its_own_on_call_subscription() -> None:
    # tests/infra/test_observability.py: the configured address subscribes to the stage's alarm topic.
    stages = {
        "prod": {config.CTX_ON_CALL_EMAIL: "oncall@example.com"},
        "dev": {config.CTX_ON_CALL_EMAIL: "me@example.com"},
    }
    assert _config({"stage": "prod", "stages": stages}).on_call_email == "oncall@example.com"
    assert _config({"stages": stages}).on_call_email == "me@example.com"
    assert _config({"stage": "alice", "stages": stages}).on_call_email is None  # alarms reach nobody (README)


def test_a_stage_block_may_name_the_marketplace_accounts_of_that_stage() -> None:
    accounts = {"ebuy": "111122223333"}
    stages = {"prod": {config.CTX_MARKETPLACE_ACCOUNTS: accounts}}
    assert _config({"stage": "prod", "stages": stages}).marketplace_accounts == accounts
    assert _config({"stages": stages}).marketplace_accounts == {}  # dev


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"stage": "Prod"}, "stage 'Prod'"),
        ({"stage": "a" * 21}, "1-20"),
        (
            {"stage": "prod", "stages": {"prod": {"logRetentionDay": 7}}},
            r"stages.prod: unknown keys \['logRetentionDay'\]",
        ),
        ({"notificationSenderIdentity": "mailbox"}, "notificationSenderIdentity"),
        ({"notificationSenderEmail": "orders.example.com"}, "not an e-mail address"),
    ],
)
def test_bad_stage_settings_are_refused_with_the_key_named(context: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _config(context)


def test_both_stages_run_an_order_in_one_sandbox_account(cdk_out: Path, prod: Synthesized) -> None:
    from examples.seed import seed_inventory
    from sandbox import lambda_runtime, scenarios
    from sandbox.account import Sandbox

    order = json.loads(Path("examples/orders/happy.json").read_text())
    # The sandbox deploys the stage it is given (prod's cdk.out holds OrderProcessing-prod only), then dev beside it.
    with Sandbox(prod.outdir, stage="prod", seed_catalog=scenarios.CATALOG_PATH) as sandbox:
        assert sandbox.outputs[names.OUTPUT_STAGE] == "prod"
        assert sandbox.deployment is not None
        dev = sandbox.add_stage(cdk_out, "dev")
        assert dev.outputs[names.OUTPUT_STAGE] == "dev"
        with sandbox.client_environment():
            seed_inventory(dev.outputs[constants.OUTPUT_INVENTORY_TABLE], scenarios.load_catalog())
        deployments = {"dev": dev, "prod": sandbox.deployment}
        assert dev.outputs[constants.OUTPUT_STATE_MACHINE_ARN] != sandbox.outputs[constants.OUTPUT_STATE_MACHINE_ARN]
        results = {}
        for stage, deployment in deployments.items():
            # The sandbox keeps one warm container per handler path, not per function: without starting cold,
            # one stage's functions would reuse the settings (table names) the other's cached. AWS gives each
            # function its own containers (reported to the sandbox's owner).
            lambda_runtime.reset_warm_state()
            runner = sandbox.runner()
            runner.state_machine_arn = deployment.outputs[constants.OUTPUT_STATE_MACHINE_ARN]
            (results[stage],) = runner.run([{**order, "orderId": f"stage-{stage}-1"}])
            assert sandbox.drain()
        assert {stage: r.status for stage, r in results.items()} == {"dev": "SUCCEEDED", "prod": "SUCCEEDED"}
        # Each order is in its own stage's tables only (the subscribers of each bus included).
        dynamodb = sandbox.client("dynamodb")
        for stage, deployment in deployments.items():
            other = "prod" if stage == "dev" else "dev"
            for key in (
                constants.OUTPUT_PAYMENTS_TABLE,
                "AuditSubscriberTableName",
                "NotificationsSubscriberTableName",
            ):
                items = json.dumps(dynamodb.scan(TableName=deployment.outputs[key])["Items"])
                assert f"stage-{stage}-1" in items and f"stage-{other}-1" not in items, (stage, key)
        # Each stage's functions published their metrics (orders completed, revenue...) in its own namespace.
        for stage, deployment in deployments.items():
            published = published_namespaces(sandbox.client("logs"), set(deployment.function_log_groups().values()))
            assert published == {names.metrics_namespace(stage)}, stage
        # `orderctl --stage NAME` finds each stage's own stack: its order, and not the other's.
        with sandbox.client_environment():
            for stage in ("dev", "prod"):
                other = "prod" if stage == "dev" else "dev"
                status = orderctl_json("--stage", stage, "status", f"stage-{stage}-1")
                assert (status["status"], status["channel"]) == ("SUCCEEDED", "web"), stage
                missing = orderctl_main(["--stage", stage, "status", f"stage-{other}-1"], io.StringIO(), io.StringIO())
                assert missing == 1, (stage, other)


def published_namespaces(logs: Any, log_groups: set[str]) -> set[str]:
    """The CloudWatch namespaces of the embedded-metric-format lines written to these log groups."""
    found = set()
    for group in log_groups:
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
            for event in page["events"]:
                if '"_aws"' in event["message"]:
                    document = json.loads(event["message"])
                    found.update(d["Namespace"] for d in document["_aws"]["CloudWatchMetrics"])
    return found


def orderctl_json(*argv: str) -> Any:
    out = io.StringIO()
    assert orderctl_main([*argv, "--json"], out, io.StringIO()) == 0
    return json.loads(out.getvalue())
