"""What `cdk deploy` sends: functions, tables, queues and grants as the README promises."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import config
from infra.config import StackConfig
from lambdas.shared import constants
from tests.infra.synth_support import own_functions
from tests.synth import Synthesized, synthesize


def _statements(synthesized: Synthesized, policy_prefix: str) -> list[dict[str, Any]]:
    policies = synthesized.resources("AWS::IAM::Policy")
    return [
        s
        for name, policy in policies.items()
        if name.startswith(policy_prefix)
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_every_function_is_python313_arm64_traced_on_the_dependency_layer(synthesized: Synthesized) -> None:
    layers = synthesized.resources("AWS::Lambda::LayerVersion")
    dependency_layer = next(name for name in layers if name.startswith("DependencyLayer"))
    assert layers[dependency_layer]["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layers[dependency_layer]["Properties"]["CompatibleArchitectures"] == ["arm64"]
    functions = own_functions(synthesized)  # CDK's custom-resource providers are aws-cdk-lib's (synth_support)
    assert len(functions) < len(synthesized.resources("AWS::Lambda::Function"))  # the page deployment's handler
    handlers = {f["Properties"]["Handler"] for f in functions.values()}
    assert set(constants.TASK_FUNCTIONS.values()) | {constants.REVIEW_DECISION_HANDLER} <= handlers
    for name, function in functions.items():
        props = function["Properties"]
        assert props["Runtime"] == "python3.13", name
        assert props["Architectures"] == ["arm64"], name
        assert props["TracingConfig"] == {"Mode": "Active"}, name
        assert props["Layers"] == [{"Ref": dependency_layer}], name
        assert props["LoggingConfig"]["LogGroup"], name


def test_function_log_groups_have_retention(synthesized: Synthesized) -> None:
    for name, group in synthesized.resources("AWS::Logs::LogGroup").items():
        assert group["Properties"]["RetentionInDays"] == 30, name


def test_tables_are_on_demand_recoverable_and_encrypted(synthesized: Synthesized) -> None:
    tables = synthesized.resources("AWS::DynamoDB::Table")
    assert len(tables) >= 3
    for name, table in tables.items():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST", name
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, name
        assert props["SSESpecification"]["SSEEnabled"] is True, name


def test_each_warehouse_has_an_encrypted_fifo_queue_with_a_dead_letter_queue(synthesized: Synthesized) -> None:
    queues = synthesized.resources("AWS::SQS::Queue")
    for warehouse in config.DEFAULT_WAREHOUSES:
        logical_prefix = "Warehouses" + str(warehouse["id"]).replace("-", "")
        (queue,) = [q for n, q in queues.items() if n.startswith(logical_prefix) and "DeadLetters" not in n]
        props = queue["Properties"]
        assert props["FifoQueue"] is True
        assert props["SqsManagedSseEnabled"] is True
        assert props["RedrivePolicy"]["maxReceiveCount"] == 5


def test_reviewer_function_may_only_answer_this_workflows_tasks(synthesized: Synthesized) -> None:
    statements = _statements(synthesized, "WorkflowDecidePaymentReview")
    states = [s for s in statements if any(str(a).startswith("states:") for a in s["Action"])]
    (grant,) = [s for s in states if "states:SendTaskSuccess" in s["Action"]]
    assert set(grant["Action"]) >= {"states:SendTaskSuccess", "states:SendTaskFailure"}
    machine = next(iter(synthesized.resources("AWS::StepFunctions::StateMachine")))
    assert grant["Resource"] == {"Ref": machine}
    # Besides answering, it only reads what became of an order's review task, in this workflow's executions.
    (reads,) = [s for s in states if s is not grant]
    assert sorted(reads["Action"]) == ["states:DescribeExecution", "states:GetExecutionHistory"]
    assert reads["Resource"]["Fn::Join"][1][-3:] == [":execution:", {"Fn::GetAtt": [machine, "Name"]}, ":*"]


def test_no_iam_statement_allows_every_action(synthesized: Synthesized) -> None:
    for name, policy in synthesized.resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert "*" not in actions and not any(a.endswith(":*") for a in actions), name


def test_outputs_name_what_operators_and_the_sandbox_look_up(synthesized: Synthesized) -> None:
    outputs = synthesized.template["Outputs"]
    for key in ("StateMachineArn", "EventBusName", "EventBusArn", "InventoryTableName", "ReviewDecisionFunctionName"):
        assert key in outputs


def test_context_overrides_reach_the_functions(tmp_path_factory: pytest.TempPathFactory) -> None:
    warehouses = [{"id": "WH-TEST", "countries": ["DE"]}]
    custom = synthesize(
        tmp_path_factory.mktemp("custom"), {"reviewTimeoutHours": 2, "warehouses": warehouses, "logRetentionDays": 7}
    )
    envs = [f["Properties"]["Environment"]["Variables"] for f in custom.resources("AWS::Lambda::Function").values()]
    collect = next(e for e in envs if constants.ENV_REVIEW_TIMEOUT_SECONDS in e)
    assert collect[constants.ENV_REVIEW_TIMEOUT_SECONDS] == "7200"
    fifo = [n for n in custom.resources("AWS::SQS::Queue") if n.startswith("WarehousesWHTEST")]
    assert len(fifo) == 2  # the queue and its dead-letter queue
    assert {g["Properties"]["RetentionInDays"] for g in custom.resources("AWS::Logs::LogGroup").values()} == {7}


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"reviewTimeoutHours": 0}, "reviewTimeoutHours"),
        ({"warehouses": [{"id": "A", "countries": []}, {"id": "A", "countries": []}]}, "unique"),
        ({"eventBusAllowedAccounts": ["12345"]}, "12-digit"),
    ],
)
def test_bad_context_is_rejected_with_the_key_named(context: dict[str, Any], message: str) -> None:
    from aws_cdk import App

    app = App(context=context)
    with pytest.raises(ValueError, match=message):
        StackConfig.from_node(app.node)


def test_the_gateway_keeps_its_own_ledger_that_only_the_payment_functions_write(synthesized: Synthesized) -> None:
    tables = synthesized.resources("AWS::DynamoDB::Table")
    (name,) = [n for n in tables if n.startswith("TablesGatewayLedger")]
    ledger = tables[name]
    assert [k["AttributeName"] for k in ledger["Properties"]["KeySchema"]] == list(constants.GATEWAY_LEDGER_TABLE_KEYS)
    assert ledger["DeletionPolicy"] == ledger["UpdateReplacePolicy"] == "Retain"
    assert synthesized.template["Outputs"][constants.OUTPUT_GATEWAY_LEDGER_TABLE]["Value"] == {"Ref": name}
    writers = {}
    for policy_name, policy in synthesized.resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if name in json.dumps(statement["Resource"]):
                writers[policy_name.removeprefix("Workflow").split("ServiceRole")[0]] = sorted(statement["Action"])
    actions = ["dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:PutItem"]
    assert writers == {"CollectPaymentFunction": actions, "RefundPaymentFunction": actions}
    for function in synthesized.resources("AWS::Lambda::Function").values():
        variables = function["Properties"]["Environment"]["Variables"]
        handler = function["Properties"]["Handler"]
        payment_function = handler in (
            constants.TASK_FUNCTIONS["CollectPaymentFunctionArn"],
            constants.TASK_FUNCTIONS["RefundPaymentFunctionArn"],
        )
        assert (variables.get(constants.ENV_GATEWAY_LEDGER_TABLE) == {"Ref": name}) == payment_function, handler
