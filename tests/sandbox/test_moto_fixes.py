"""Each moto fix: moto (pinned) is still broken without it, and the fix works.

When a moto upgrade fixes something upstream, its `*_without_fix` test fails: delete the fix. When an
upgrade changes what a fix patches, its `*_with_fix` test fails. Either way nothing breaks silently.
"""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from sandbox import moto_fixes
from sandbox.account import ACCOUNT_ID, Sandbox
from sandbox.moto_fixes import suspended

HANDLERS = "tests.sandbox.handlers"
ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/fixture"


@pytest.fixture
def account() -> Iterator[Sandbox]:
    """An empty sandbox account: every fix on, nothing deployed."""
    with Sandbox(cdk_out=None) as sandbox:
        sandbox.client("iam").create_role(RoleName="fixture", AssumeRolePolicyDocument="{}")
        yield sandbox


def _stack(sandbox: Sandbox, resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> dict[str, str]:
    name = f"fix-{uuid.uuid4().hex[:8]}"
    template = {"Resources": resources, "Outputs": {k: {"Value": v} for k, v in (outputs or {}).items()}}
    cloudformation = sandbox.client("cloudformation")
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _function(sandbox: Sandbox, handler: str, **extra: Any) -> str:
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "")
    name = f"fn-{uuid.uuid4().hex[:8]}"
    sandbox.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=ROLE,
        Handler=f"{HANDLERS}.{handler}",
        Code={"ZipFile": code.getvalue()},
        **extra,
    )
    return name


def _function_arn(name: str) -> str:
    return f"arn:aws:lambda:eu-west-1:{ACCOUNT_ID}:function:{name}"


def _machine(sandbox: Sandbox, definition: dict[str, Any]) -> str:
    return sandbox.client("stepfunctions").create_state_machine(
        name=f"sm-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]


def _run(sandbox: Sandbox, machine: str, payload: Any = None) -> str:
    return sandbox.client("stepfunctions").start_execution(
        stateMachineArn=machine, name=f"ex-{uuid.uuid4().hex[:8]}", input=json.dumps(payload or {})
    )["executionArn"]


def _wait(sandbox: Sandbox, arn: str, timeout: float = 20.0) -> dict[str, Any]:
    sfn = sandbox.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{arn} still running"
        time.sleep(0.02)
    return described


def _timed(action: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = action()
    return result, time.monotonic() - started


def test_the_fixes_are_verified_for_the_pinned_moto() -> None:
    assert version("moto") == moto_fixes.MOTO_VERSION
    requirements = (Path(__file__).resolve().parents[2] / "requirements-dev.txt").read_text()
    assert f"=={moto_fixes.MOTO_VERSION}" in next(line for line in requirements.splitlines() if "moto[" in line)


def test_every_fix_says_what_moto_does_wrong_and_is_reverted_after_the_sandbox() -> None:
    assert all(len(fix.moto_behaviour) > 40 for fix in moto_fixes.FIXES.values())
    assert not any(fix.active for fix in moto_fixes.FIXES.values())


# --- CloudFormation ------------------------------------------------------------------------------
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
        _stack(account, FIFO)
    long_logical_id = {"EventsBusArchiveOfEveryOrderEvent3AC72948": ARCHIVE["Archive"]}
    with suspended("cfn-generated-names"), pytest.raises(Exception, match="48"):
        _stack(account, {**BUS, **long_logical_id})


def test_generated_names_with_fix(account: Sandbox) -> None:
    long_logical_id = {"EventsBusArchiveOfEveryOrderEvent3AC72948": ARCHIVE["Archive"]}
    outputs = _stack(account, {**FIFO, **BUS, **long_logical_id}, {"Queue": {"Fn::GetAtt": ["Queue", "QueueName"]}})
    assert outputs["Queue"].endswith(".fifo") and len(outputs["Queue"]) <= 80
    archives = account.client("events").list_archives()["Archives"]
    assert archives and all(len(a["ArchiveName"]) <= 48 for a in archives)


def test_archive_pattern_without_fix(account: Sandbox) -> None:
    named = {"Archive": {**ARCHIVE["Archive"], "Properties": {**ARCHIVE["Archive"]["Properties"], "ArchiveName": "a"}}}
    with suspended("cfn-archive-pattern"), pytest.raises(Exception, match="must be str"):
        _stack(account, {**BUS, **named})


def test_archive_pattern_with_fix(account: Sandbox) -> None:
    _stack(account, {**BUS, **ARCHIVE})
    archive = account.client("events").list_archives()["Archives"][0]
    described = account.client("events").describe_archive(ArchiveName=archive["ArchiveName"])
    assert json.loads(described["EventPattern"]) == {"source": ["a"]}


def test_event_bus_ref_without_fix(account: Sandbox) -> None:
    with suspended("cfn-event-bus-ref"):
        assert "<moto.events.models.EventBus" in _stack(account, BUS, {"Name": {"Ref": "Bus"}})["Name"]


def test_event_bus_ref_with_fix(account: Sandbox) -> None:
    assert _stack(account, BUS, {"Name": {"Ref": "Bus"}})["Name"] == "fix-bus"


REGISTRY = {"Registry": {"Type": "AWS::EventSchemas::Registry", "Properties": {"RegistryName": "fix-registry"}}}


def test_missing_types_without_fix(account: Sandbox) -> None:
    with suspended("cfn-missing-types"), pytest.raises(Exception, match="has_cfn_attr"):
        _stack(account, REGISTRY, {"Registry": {"Fn::GetAtt": ["Registry", "RegistryName"]}})


def test_missing_types_with_fix(account: Sandbox) -> None:
    function = _function(account, "echo")
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
    outputs = _stack(
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
        arn = _stack(account, STATE_MACHINE, {"Arn": {"Ref": "Machine"}})["Arn"]
        with pytest.raises(Exception, match=r"(?i)does not exist"):  # not in the executing backend
            account.client("stepfunctions").describe_state_machine(stateMachineArn=arn)


def test_state_machine_with_fix(account: Sandbox) -> None:
    arn = _stack(account, STATE_MACHINE, {"Arn": {"Ref": "Machine"}})["Arn"]
    assert "${" not in account.client("stepfunctions").describe_state_machine(stateMachineArn=arn)["definition"]
    described = _wait(account, _run(account, arn))
    assert described["status"] == "SUCCEEDED" and "hello" in described["output"], described


# --- Lambda --------------------------------------------------------------------------------------
def _invoke(sandbox: Sandbox, name: str, payload: Any) -> tuple[Any, str | None]:
    response = sandbox.client("lambda").invoke(FunctionName=name, Payload=json.dumps(payload).encode())
    body = response["Payload"].read().decode()
    return (json.loads(body) if body.startswith(("{", "[", '"')) else body), response.get("FunctionError")


def test_lambda_in_process_without_fix(account: Sandbox) -> None:
    name = _function(account, "echo")
    with suspended("lambda-in-process"):
        payload, error = _invoke(account, name, {"a": 1})
    assert error and "docker" in str(payload).lower()


def test_lambda_in_process_with_fix(account: Sandbox) -> None:
    name = _function(account, "echo", Environment={"Variables": {"GREETING": "hi"}})
    payload, error = _invoke(account, name, {"a": 1})
    assert error is None and payload == {"event": {"a": 1}, "greeting": "hi", "function": name}
    failure, error = _invoke(account, _function(account, "fail"), {})
    assert error and failure["errorType"] == "Order.OutOfStock" and "0 available" in failure["errorMessage"]
    assert failure["stackTrace"]
    missing, error = _invoke(account, _function(account, "no_such_handler"), {})
    assert error and missing["errorType"] == "Runtime.ImportModuleError"


def test_lambda_dead_letter_config_without_fix(account: Sandbox) -> None:
    from moto.awslambda.models import lambda_backends

    with suspended("lambda-dead-letter-config"):
        name = _function(account, "echo", DeadLetterConfig={"TargetArn": "arn:aws:sqs:eu-west-1:1:q"})
    assert not hasattr(lambda_backends[ACCOUNT_ID]["eu-west-1"].get_function(name), "dead_letter_config")


def test_lambda_dead_letter_config_with_fix(account: Sandbox) -> None:
    from moto.awslambda.models import lambda_backends

    name = _function(account, "echo", DeadLetterConfig={"TargetArn": "arn:aws:sqs:eu-west-1:1:q"})
    function = lambda_backends[ACCOUNT_ID]["eu-west-1"].get_function(name)
    assert function.dead_letter_config == {"TargetArn": "arn:aws:sqs:eu-west-1:1:q"}


# --- EventBridge ---------------------------------------------------------------------------------
def _rule_to(sandbox: Sandbox, target_arn: str, state: str = "ENABLED") -> str:
    events = sandbox.client("events")
    rule = f"rule-{uuid.uuid4().hex[:8]}"
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["fix"]}), State=state)
    events.put_targets(Rule=rule, Targets=[{"Id": "t", "Arn": target_arn}])
    return rule


def _permit(sandbox: Sandbox, function: str) -> None:
    sandbox.client("lambda").add_permission(
        FunctionName=function, StatementId="events", Action="lambda:InvokeFunction", Principal="events.amazonaws.com"
    )


def _put(sandbox: Sandbox) -> None:
    sandbox.client("events").put_events(Entries=[{"Source": "fix", "DetailType": "T", "Detail": '{"k": 1}'}])
    sandbox.drain()


def test_events_lambda_targets_without_fix(account: Sandbox) -> None:
    _rule_to(account, _function_arn(_function(account, "echo")))
    with suspended("events-lambda-targets"), pytest.raises(NotImplementedError):
        _put(account)


def test_events_disabled_rules_without_fix(account: Sandbox) -> None:
    queue = account.client("sqs").create_queue(QueueName="fix-disabled")["QueueUrl"]
    _rule_to(account, f"arn:aws:sqs:eu-west-1:{ACCOUNT_ID}:fix-disabled", state="DISABLED")
    with suspended("events-lambda-targets"):
        _put(account)
    assert account.client("sqs").receive_message(QueueUrl=queue).get("Messages"), "moto delivered to a DISABLED rule"


def test_events_lambda_targets_with_fix(account: Sandbox) -> None:
    function = _function(account, "echo")
    _permit(account, function)
    _rule_to(account, _function_arn(function))
    queue = account.client("sqs").create_queue(QueueName="fix-disabled-2")["QueueUrl"]
    _rule_to(account, f"arn:aws:sqs:eu-west-1:{ACCOUNT_ID}:fix-disabled-2", state="DISABLED")
    _put(account)
    delivered = [d for d in account.targets.deliveries if d.function.endswith(function)]
    assert [d.outcome for d in delivered] == ["SUCCEEDED"]
    assert delivered[0].results[0]["event"]["detail"] == {"k": 1}
    assert not account.client("sqs").receive_message(QueueUrl=queue).get("Messages")


def test_events_without_permission_go_to_the_target_dead_letter_queue(account: Sandbox) -> None:
    function = _function(account, "echo")  # no AWS::Lambda::Permission for events.amazonaws.com
    queue = account.client("sqs").create_queue(QueueName="fix-target-dlq")["QueueUrl"]
    events = account.client("events")
    events.put_rule(Name="unpermitted", EventPattern=json.dumps({"source": ["fix"]}))
    dlq = {"Arn": f"arn:aws:sqs:eu-west-1:{ACCOUNT_ID}:fix-target-dlq"}
    target = {
        "Id": "t",
        "Arn": _function_arn(function),
        "DeadLetterConfig": dlq,
        "RetryPolicy": {"MaximumRetryAttempts": 2},
    }
    events.put_targets(Rule="unpermitted", Targets=[target])
    _put(account)
    [delivery] = [d for d in account.targets.deliveries if d.function.endswith(function)]
    assert (delivery.outcome, delivery.attempts) == ("UNDELIVERABLE", 3)
    message = account.client("sqs").receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"][0]
    assert message["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "AccessDeniedException"


# --- Step Functions interpreter ------------------------------------------------------------------
def test_client_cache_without_fix(account: Sandbox) -> None:
    from moto.stepfunctions.parser.asl.utils import boto_client

    with suspended("sfn-client-cache"):
        assert boto_client.boto_client_for("eu-west-1", "sqs") is not boto_client.boto_client_for("eu-west-1", "sqs")


def test_client_cache_with_fix(account: Sandbox) -> None:
    from moto.stepfunctions.parser.asl.utils import boto_client

    assert boto_client.boto_client_for("eu-west-1", "sqs") is boto_client.boto_client_for("eu-west-1", "sqs")


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from moto.stepfunctions.parser.backend import execution_worker

    parses: list[str] = []
    parser = execution_worker.AmazonStateLanguageParser
    original = parser.parse
    monkeypatch.setattr(parser, "parse", staticmethod(lambda d: parses.append(d) or original(d)))
    return parses


PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def test_program_cache_without_fix(account: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    machine = _machine(account, {**PASS, "Comment": uuid.uuid4().hex})
    parses = _count_parses(monkeypatch)
    with suspended("sfn-program-cache"):
        for _ in range(2):
            _wait(account, _run(account, machine))
    assert len(parses) == 2


def test_program_cache_with_fix(account: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    machine = _machine(account, {**PASS, "Comment": uuid.uuid4().hex})
    parses = _count_parses(monkeypatch)
    for _ in range(3):
        assert _wait(account, _run(account, machine))["status"] == "SUCCEEDED"
    assert len(parses) == 1


def test_jsonpath_cache_without_fix(account: Sandbox) -> None:
    from moto.stepfunctions.parser.asl.utils import json_path

    with suspended("sfn-jsonpath-cache"):
        assert json_path.parse("$.a.b") is not json_path.parse("$.a.b")


def test_jsonpath_cache_with_fix(account: Sandbox) -> None:
    from moto.stepfunctions.parser.asl.utils import json_path

    assert json_path.parse("$.a.b") is json_path.parse("$.a.b")
    assert json_path.extract_json("$.a.b", {"a": {"b": 2}}) == 2


# With a fix, the back-off is not slept: a back-off far longer than _wait's deadline proves it
# without asserting on elapsed time (which a loaded machine would make flaky).
LONG_SECONDS = 3600


def _retrying(sandbox: Sandbox, interval: int = 1) -> str:
    retry = {"ErrorEquals": ["States.ALL"], "IntervalSeconds": interval, "MaxAttempts": 1}
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": _function_arn(_function(sandbox, "fail"))},
        "Retry": [retry],
        "End": True,
    }
    return _machine(sandbox, {"StartAt": "T", "States": {"T": task}})


def test_instant_retry_without_fix(account: Sandbox) -> None:
    machine = _retrying(account)
    with suspended("sfn-instant-retry"):
        described, seconds = _timed(lambda: _wait(account, _run(account, machine)))
    assert described["error"] == "Order.OutOfStock" and seconds >= 1.0


def test_instant_retry_with_fix(account: Sandbox) -> None:
    described = _wait(account, _run(account, _retrying(account, LONG_SECONDS)))
    assert described["error"] == "Order.OutOfStock"
    assert [(s.kind, s.seconds, s.state) for s in account.clock.sleeps(described["executionArn"])] == [
        ("retry", float(LONG_SECONDS), "T")
    ]


WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}
LONG_WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": LONG_SECONDS, "End": True}}}


def test_instant_wait_without_fix(account: Sandbox) -> None:
    machine = _machine(account, WAIT)
    with suspended("sfn-instant-wait"):
        _, seconds = _timed(lambda: _wait(account, _run(account, machine)))
    assert seconds >= 1.0


def test_instant_wait_with_fix(account: Sandbox) -> None:
    described = _wait(account, _run(account, _machine(account, LONG_WAIT)))
    assert described["status"] == "SUCCEEDED"
    assert [(s.kind, s.seconds) for s in account.clock.sleeps(described["executionArn"])] == [
        ("wait", float(LONG_SECONDS))
    ]


def _waiting_for_token(sandbox: Sandbox, then: dict[str, Any] | None = None) -> str:
    task: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {
            "FunctionName": _function_arn(_function(sandbox, "keep_token")),
            "Payload": {"token.$": "$$.Task.Token"},
        },
        "TimeoutSeconds": 3600,
        "End": True,
    }
    states: dict[str, Any] = {"T": task}
    if then is not None:  # caught after the timeout: the execution runs on in `then`
        del task["End"]
        task.update(Next="Then", Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Then"}])
        states["Then"] = then
    arn = _run(sandbox, _machine(sandbox, {"StartAt": "T", "States": states}))
    deadline = time.monotonic() + 10
    history = sandbox.client("stepfunctions").get_execution_history
    while not any(e["type"] == "TaskSubmitted" for e in history(executionArn=arn)["events"]):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return arn


def test_callback_clock_without_fix(account: Sandbox) -> None:
    with suspended("sfn-callback-clock"):
        arn = _waiting_for_token(account)
        account.clock.advance(3601)
        time.sleep(0.3)
        assert account.client("stepfunctions").describe_execution(executionArn=arn)["status"] == "RUNNING"
        account.client("stepfunctions").stop_execution(executionArn=arn)


def test_callback_clock_with_fix(account: Sandbox) -> None:
    arn = _waiting_for_token(account)
    time.sleep(0.1)
    assert account.client("stepfunctions").describe_execution(executionArn=arn)["status"] == "RUNNING"
    account.clock.advance(3601)
    assert _wait(account, arn, timeout=5)["error"] == "States.Timeout"


def test_task_failure_cause_without_fix(account: Sandbox) -> None:
    from tests.sandbox import handlers

    arn = _waiting_for_token(account)
    with suspended("sfn-task-failure-cause"):
        account.client("stepfunctions").send_task_failure(taskToken=handlers.tokens[-1], error="E", cause="why")
    assert not _wait(account, arn).get("cause")


def test_task_failure_cause_with_fix(account: Sandbox) -> None:
    from tests.sandbox import handlers

    arn = _waiting_for_token(account)
    account.client("stepfunctions").send_task_failure(taskToken=handlers.tokens[-1], error="E", cause="why")
    described = _wait(account, arn)
    assert (described["error"], described["cause"]) == ("E", "why")


def test_callback_single_use_without_fix(account: Sandbox) -> None:
    from tests.sandbox import handlers

    arn = _waiting_for_token(account)
    sfn = account.client("stepfunctions")
    with suspended("sfn-callback-single-use"):
        sfn.send_task_success(taskToken=handlers.tokens[-1], output="{}")
        sfn.send_task_failure(taskToken=handlers.tokens[-1], error="E", cause="a second answer, accepted")
    _wait(account, arn)


def test_callback_single_use_with_fix(account: Sandbox) -> None:
    from tests.sandbox import handlers

    sfn = account.client("stepfunctions")
    arn = _waiting_for_token(account)
    sfn.send_task_success(taskToken=handlers.tokens[-1], output="{}")
    with pytest.raises(sfn.exceptions.TaskDoesNotExist):
        sfn.send_task_failure(taskToken=handlers.tokens[-1], error="E", cause="a second answer")
    assert _wait(account, arn)["status"] == "SUCCEEDED"
    # A token whose task timed out is refused while its execution still runs (in a second wait).
    second = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": _function_arn(_function(account, "echo")), "Payload": {"t.$": "$$.Task.Token"}},
        "TimeoutSeconds": 3600,
        "End": True,
    }
    arn = _waiting_for_token(account, then=second)
    token = handlers.tokens[-1]
    account.clock.advance(3601)
    deadline = time.monotonic() + 5
    while not any(e["type"] == "TaskTimedOut" for e in sfn.get_execution_history(executionArn=arn)["events"]):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    with pytest.raises(sfn.exceptions.TaskTimedOut):
        sfn.send_task_success(taskToken=token, output="{}")
    sfn.stop_execution(executionArn=arn)


# --- DynamoDB and backend lookups ----------------------------------------------------------------
def _concurrent_write_while_a_read_is_inside_dynamodb(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> bool:
    """True when a put_item completes while another request is still inside the DynamoDB backend."""
    from moto.dynamodb.models import DynamoDBBackend

    sandbox.client("dynamodb").create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    inside, release = threading.Event(), threading.Event()
    original = DynamoDBBackend.get_item

    def slow_get_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        inside.set()
        release.wait(5)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "get_item", slow_get_item)
    client = sandbox.client("dynamodb")
    reader = threading.Thread(target=lambda: client.get_item(TableName="t", Key={"pk": {"S": "a"}}))
    reader.start()
    assert inside.wait(5)
    writer = threading.Thread(target=lambda: client.put_item(TableName="t", Item={"pk": {"S": "b"}}))
    writer.start()
    writer.join(0.5)
    overlapped = not writer.is_alive()
    release.set()
    reader.join(5)
    writer.join(5)
    return overlapped


def test_dynamodb_isolation_without_fix(account: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    with suspended("dynamodb-serializable"):
        assert _concurrent_write_while_a_read_is_inside_dynamodb(account, monkeypatch)


def test_dynamodb_isolation_with_fix(account: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not _concurrent_write_while_a_read_is_inside_dynamodb(account, monkeypatch)


def _lookup_while_the_backend_lock_is_held() -> bool:
    """True when a lookup of an existing account completes while moto's backend lock is held."""
    from moto.core import base_backend
    from moto.dynamodb.models import dynamodb_backends

    done = threading.Event()
    assert dynamodb_backends[ACCOUNT_ID] is not None  # the account exists before the lock is taken
    with base_backend.backend_lock:
        threading.Thread(target=lambda: (dynamodb_backends[ACCOUNT_ID], done.set()), daemon=True).start()
        finished = done.wait(0.3)
    done.wait(5)
    return finished


def test_backend_lookup_lock_without_fix(account: Sandbox) -> None:
    with suspended("backend-lookup-lock"):
        assert not _lookup_while_the_backend_lock_is_held()


def test_backend_lookup_lock_with_fix(account: Sandbox) -> None:
    assert _lookup_while_the_backend_lock_is_held()


# --- EventBridge replay --------------------------------------------------------------------------
def _archived_bus(sandbox: Sandbox) -> dict[str, Any]:
    """A bus with an archive, a rule to a Lambda function and one to a queue, and two archived events:
    one an hour old, one now. The original deliveries are drained."""
    events, sqs = sandbox.client("events"), sandbox.client("sqs")
    name = f"replay-{uuid.uuid4().hex[:8]}"
    bus_arn = events.create_event_bus(Name=name)["EventBusArn"]
    archive_arn = events.create_archive(ArchiveName=name, EventSourceArn=bus_arn)["ArchiveArn"]
    function = _function(sandbox, "echo")
    _permit(sandbox, function)
    pattern = json.dumps({"source": ["fix"]})
    to_function = events.put_rule(Name=f"{name}-fn", EventBusName=name, EventPattern=pattern)["RuleArn"]
    events.put_targets(Rule=f"{name}-fn", EventBusName=name, Targets=[{"Id": "f", "Arn": _function_arn(function)}])
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    events.put_rule(Name=f"{name}-q", EventBusName=name, EventPattern=pattern)
    queue_arn = f"arn:aws:sqs:eu-west-1:{ACCOUNT_ID}:{name}"
    events.put_targets(Rule=f"{name}-q", EventBusName=name, Targets=[{"Id": "q", "Arn": queue_arn}])
    now = datetime.now(UTC)
    for when, which in ((now - timedelta(hours=1), "old"), (now, "new")):
        entry = {"Source": "fix", "DetailType": "T", "Detail": json.dumps({"which": which}), "EventBusName": name}
        events.put_events(Entries=[{**entry, "Time": when}])
    sandbox.drain()
    while sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        pass
    window = {"EventStartTime": now - timedelta(minutes=5), "EventEndTime": now + timedelta(minutes=5)}
    replay = {"EventSourceArn": archive_arn, "Destination": {"Arn": bus_arn, "FilterArns": [to_function]}, **window}
    return {"replay": replay, "queue": queue, "function": function}


def _replayed(sandbox: Sandbox, setup: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Start the replay; (what the function received, what the queue received) from it."""
    sandbox.client("events").start_replay(ReplayName=f"r-{uuid.uuid4().hex[:8]}", **setup["replay"])
    sandbox.drain()
    events = [
        d.results[0]["event"]
        for d in sandbox.targets.deliveries
        if d.function.endswith(setup["function"]) and d.outcome == "SUCCEEDED"
    ]
    messages = sandbox.client("sqs").receive_message(QueueUrl=setup["queue"], MaxNumberOfMessages=10)
    queued = [json.loads(m["Body"]) for m in messages.get("Messages", [])]
    return (
        [e["detail"]["which"] for e in events if "replay-name" in e],
        [e["detail"]["which"] for e in queued if "replay-name" in e],
    )


def test_replay_filter_without_fix(account: Sandbox) -> None:
    setup = _archived_bus(account)
    with suspended("events-replay-filter"):
        to_function, to_queue = _replayed(account, setup)
    assert sorted(to_function) == ["new", "old"]  # outside the window too
    assert sorted(to_queue) == ["new", "old"]  # a rule not in FilterArns


def test_replay_filter_with_fix(account: Sandbox) -> None:
    to_function, to_queue = _replayed(account, _archived_bus(account))
    assert (to_function, to_queue) == (["new"], [])


# --- Step Functions: input size ------------------------------------------------------------------
def _input_of_bytes(size: int, character: str = "a") -> str:
    """A JSON document of exactly `size` bytes in UTF-8, mostly `character` (which may be multi-byte)."""
    padding = size - len(json.dumps({"p": ""}).encode())
    count, rest = divmod(padding, len(character.encode()))
    document = json.dumps({"p": character * count + "a" * rest}, ensure_ascii=False)
    assert len(document.encode()) == size
    return document


def _start_with(sandbox: Sandbox, machine: str, document: str) -> str:
    return sandbox.client("stepfunctions").start_execution(
        stateMachineArn=machine, name=f"ex-{uuid.uuid4().hex[:8]}", input=document
    )["executionArn"]


def test_input_size_without_fix(account: Sandbox) -> None:
    machine = _machine(account, PASS)
    with suspended("sfn-input-size"):
        arn = _start_with(account, machine, _input_of_bytes(moto_fixes.MAX_EXECUTION_INPUT_BYTES + 2))
    # Accepted and run (its first state then fails it, States.DataLimitExceeded): AWS never starts it.
    assert _wait(account, arn)["executionArn"] == arn


def test_input_size_with_fix(account: Sandbox) -> None:
    from botocore.exceptions import ClientError

    # The state drops its input (moto's own per-state size check is stricter than AWS's: < 256 KiB).
    machine = _machine(account, {"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": None, "End": True}}})
    limit = moto_fixes.MAX_EXECUTION_INPUT_BYTES
    assert _wait(account, _start_with(account, machine, _input_of_bytes(limit, "é")))["status"] == "SUCCEEDED"
    # 131,073 characters, 262,146 bytes: the limit is on UTF-8 bytes, not characters.
    with pytest.raises(ClientError) as refused:
        _start_with(account, machine, _input_of_bytes(limit + 2, "é"))
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert str(limit) in error["Message"] and str(limit + 2) in error["Message"]


# --- Step Functions: service integration errors --------------------------------------------------
MISSING_QUEUE = f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT_ID}/missing-queue"


def _send_message(queue_url: str, **task: Any) -> dict[str, Any]:
    parameters = {"QueueUrl": queue_url, "MessageBody.$": "$"}
    return {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "Parameters": parameters, **task}


def _put_events(bus: str, source: str | None = "fix", **task: Any) -> dict[str, Any]:
    entry = {"DetailType": "T", "Detail": {"k": 1}, "EventBusName": bus, **({"Source": source} if source else {})}
    return {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents", "Parameters": {"Entries": [entry]}, **task}


def _caught(task: dict[str, Any], errors: str = "States.TaskFailed") -> dict[str, Any]:
    """T (retried once, caught on `errors`) -> Caught, which ends with the error output."""
    retry = [{"ErrorEquals": [errors], "MaxAttempts": 1, "IntervalSeconds": 1}]
    caught = {**task, "Retry": retry, "Catch": [{"ErrorEquals": [errors], "Next": "Caught"}], "End": True}
    return {"StartAt": "T", "States": {"T": caught, "Caught": {"Type": "Pass", "End": True}}}


def _task_failures(sandbox: Sandbox, arn: str) -> list[str]:
    history = sandbox.client("stepfunctions").get_execution_history(executionArn=arn)["events"]
    return [e["taskFailedEventDetails"]["error"] for e in history if e["type"] == "TaskFailed"]


def test_integration_errors_without_fix(account: Sandbox) -> None:
    with suspended("sfn-integration-errors"):
        bus = _wait(account, _run(account, _machine(account, _caught(_put_events("missing-bus"), "States.ALL"))))
        queue = _wait(account, _run(account, _machine(account, _caught(_send_message(MISSING_QUEUE)))))
    assert json.loads(bus["output"])["Error"] == "States.Runtime"  # a name reserved for the interpreter
    assert json.loads(queue["output"])["Error"] == "SQS.SdkClientException"


def test_integration_errors_with_fix(account: Sandbox) -> None:
    for errors in ("States.TaskFailed", "States.ALL"):
        arn = _run(account, _machine(account, _caught(_put_events("missing-bus"), errors)))
        caught = json.loads(_wait(account, arn)["output"])
        assert caught["Error"] == "EventBridge.ResourceNotFoundException"
        assert "(Service: AmazonEventBridge; Status Code: 400; Error Code: ResourceNotFoundException" in caught["Cause"]
        assert _task_failures(account, arn) == ["EventBridge.ResourceNotFoundException"] * 2  # retried once
        arn = _run(account, _machine(account, _caught(_send_message(MISSING_QUEUE), errors)))
        assert json.loads(_wait(account, arn)["output"])["Error"] == "SQS.QueueDoesNotExistException"
    # Uncaught, the execution fails with it; an entry EventBridge refuses is EventBridge.FailedEntry.
    uncaught = {"StartAt": "T", "States": {"T": _put_events("missing-bus", End=True)}}
    assert (
        _wait(account, _run(account, _machine(account, uncaught)))["error"] == "EventBridge.ResourceNotFoundException"
    )
    refused = {"StartAt": "T", "States": {"T": _put_events("default", source=None, End=True)}}
    assert _wait(account, _run(account, _machine(account, refused)))["error"] == "EventBridge.FailedEntry"


def test_integration_error_names_follow_the_service_model() -> None:
    def name(service: str, code: str, status: int = 400) -> str | None:
        reported = moto_fixes.integration_error(service, _api_error(code, status))
        return reported[0] if reported else None

    assert name("sqs", "RequestThrottled") == "SQS.RequestThrottledException"  # modelled: Exception added
    assert name("sqs", "InternalError", 500) == "SQS.AmazonSQSException"  # not modelled: the base exception
    assert name("events", "ThrottlingException") == "EventBridge.ThrottlingException"
    assert moto_fixes.integration_error("events", TimeoutError()) is None  # States.Timeout, moto's own


# --- Step Functions: the integration hook --------------------------------------------------------
class _Hook:
    """An integration hook that records every call and applies `fault` (see IntegrationHook)."""

    def __init__(self, fault: Callable[[Callable[[], Any]], Any] | None = None) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.fault = fault

    def __call__(self, service: str, action: str, parameters: dict[str, Any], proceed: Callable[[], Any]) -> Any:
        self.calls.append((service, action, dict(parameters)))
        return self.fault(proceed) if self.fault else proceed()


def _api_error(code: str, status: int) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError(
        {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "X"
    )


def _queue(sandbox: Sandbox) -> str:
    return sandbox.client("sqs").create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]


def _received(sandbox: Sandbox, queue: str) -> list[Any]:
    messages = sandbox.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def _send_once(sandbox: Sandbox, queue: str, payload: dict[str, Any]) -> dict[str, Any]:
    definition = {"StartAt": "T", "States": {"T": _send_message(queue, End=True)}}
    return _wait(sandbox, _run(sandbox, _machine(sandbox, definition), payload))


def test_integration_hook_without_fix(account: Sandbox) -> None:
    hook = _Hook(lambda proceed: (_ for _ in ()).throw(_api_error("RequestThrottled", 400)))
    account.integration_hook = hook
    queue = _queue(account)
    with suspended("sfn-integration-hook"):
        assert _send_once(account, queue, {"n": 1})["status"] == "SUCCEEDED"
    assert hook.calls == [] and _received(account, queue) == [{"n": 1}]


def _raise(error: Exception) -> Any:
    raise error


def test_integration_hook_with_fix(account: Sandbox) -> None:
    queue = _queue(account)
    # Before the call: nothing sent, AWS's error.
    account.integration_hook = throttled = _Hook(lambda proceed: _raise(_api_error("RequestThrottled", 400)))
    assert _send_once(account, queue, {"n": 1})["error"] == "SQS.RequestThrottledException"
    assert throttled.calls == [("sqs", "sendMessage", {"QueueUrl": queue, "MessageBody": json.dumps({"n": 1})})]
    assert _received(account, queue) == []
    # After the call (a lost reply): the message is sent and the task fails.
    account.integration_hook = _Hook(lambda proceed: (proceed(), _raise(_api_error("InternalError", 500))))
    assert _send_once(account, queue, {"n": 2})["error"] == "SQS.AmazonSQSException"
    assert _received(account, queue) == [{"n": 2}]
    account.integration_hook = _Hook(lambda proceed: (proceed(), _raise(TimeoutError("no answer"))))
    assert _send_once(account, queue, {"n": 3})["error"] == "States.Timeout"
    assert _received(account, queue) == [{"n": 3}]
    # A response of the hook's own: an entry EventBridge did not accept.
    failed_entry = {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "injected"}]}
    account.integration_hook = put = _Hook(lambda proceed: failed_entry)
    definition = {"StartAt": "T", "States": {"T": _put_events("default", End=True)}}
    assert _wait(account, _run(account, _machine(account, definition)))["error"] == "EventBridge.FailedEntry"
    assert [(service, action) for service, action, _ in put.calls] == [("events", "putEvents")]


# --- Step Functions: redrive ---------------------------------------------------------------------
def _stalled_after_commit(sandbox: Sandbox) -> str:
    """Committed -> Record (a Lambda task: Retry spent, no Catch) -> Done; Record's dependency is broken."""
    from tests.sandbox import handlers

    handlers.fixed.clear()
    handlers.release.clear()
    record = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": _function_arn(_function(sandbox, "until_fixed")), "Payload.$": "$"},
        "OutputPath": "$.Payload",
        "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2, "IntervalSeconds": 1}],
        "Next": "Done",
    }
    states = {
        "Committed": {"Type": "Pass", "Result": "yes", "ResultPath": "$.committed", "Next": "Record"},
        "Record": record,
        "Done": {"Type": "Pass", "End": True},
    }
    return _run(sandbox, _machine(sandbox, {"StartAt": "Committed", "States": states}), {"orderId": "o-1"})


def _entered(sandbox: Sandbox, arn: str) -> list[str]:
    history = sandbox.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] if "stateEnteredEventDetails" in e else e["type"] for e in history]


def test_redrive_without_fix(account: Sandbox) -> None:
    sfn = account.client("stepfunctions")
    arn = _stalled_after_commit(account)
    assert _wait(account, arn)["status"] == "FAILED"
    with suspended("sfn-redrive"):
        assert "redriveCount" not in sfn.describe_execution(executionArn=arn)
        with pytest.raises(Exception, match=r"(?i)redrive"):
            sfn.redrive_execution(executionArn=arn)


def test_redrive_with_fix(account: Sandbox) -> None:
    from tests.sandbox import handlers

    sfn = account.client("stepfunctions")
    arn = _stalled_after_commit(account)
    failed = _wait(account, arn)
    assert (failed["status"], failed["error"]) == ("FAILED", "Order.OutOfStock")
    assert (failed["redriveCount"], failed["redriveStatus"]) == (0, "REDRIVABLE")
    before = _entered(account, arn)
    assert before.count("Record") == 1 and before[-1] == "ExecutionFailed"

    handlers.fixed.set()  # the cause is repaired
    redriven_at = sfn.redrive_execution(executionArn=arn)["redriveDate"]
    running = sfn.describe_execution(executionArn=arn)
    assert (running["status"], running["redriveCount"], running["redriveDate"]) == ("RUNNING", 1, redriven_at)
    with pytest.raises(sfn.exceptions.ExecutionNotRedrivable):
        sfn.redrive_execution(executionArn=arn)
    handlers.release.set()
    done = _wait(account, arn)
    assert (done["status"], done["executionArn"], done["redriveCount"]) == ("SUCCEEDED", arn, 1)
    assert done["redriveStatus"] == "NOT_REDRIVABLE"
    # The same history, continued: only the unsuccessful state and the ones after it ran again, with
    # the input the unsuccessful state had entered with.
    after = _entered(account, arn)
    assert after[: len(before)] == before
    assert [e for e in after[len(before) :] if e in ("Committed", "Record", "Done", "ExecutionRedriven")] == [
        "ExecutionRedriven",
        "Record",
        "Done",
    ]
    assert json.loads(done["output"]) == {"seen": {"orderId": "o-1", "committed": "yes"}}
    with pytest.raises(sfn.exceptions.ExecutionNotRedrivable):
        sfn.redrive_execution(executionArn=arn)


def test_redrive_through_the_server() -> None:
    """`aws stepfunctions redrive-execution --endpoint-url ...`: PublishOrderCompleted's case, over HTTP."""
    from tests.orderctl.conftest import free_port

    with Sandbox(cdk_out=None, port=free_port()) as server:
        server.client("iam").create_role(RoleName="fixture", AssumeRolePolicyDocument="{}")
        bus = f"bus-{uuid.uuid4().hex[:8]}"
        definition = {"StartAt": "Publish", "States": {"Publish": _put_events(bus, End=True)}}
        arn = _run(server, _machine(server, definition))
        assert _wait(server, arn)["error"] == "EventBridge.ResourceNotFoundException"
        server.client("events").create_event_bus(Name=bus)
        sfn = server.client("stepfunctions")
        assert sfn.meta.endpoint_url == server.endpoint_url
        sfn.redrive_execution(executionArn=arn)
        done = _wait(server, arn)
        assert (done["status"], done["redriveCount"]) == ("SUCCEEDED", 1)


def test_moto_is_itself_again_after_a_sandbox() -> None:
    with Sandbox(cdk_out=None):
        pass
    for fix in moto_fixes.FIXES.values():
        for (owner, attribute), replacement in zip(fix.targets, fix.replacements, strict=True):
            assert vars(moto_fixes._resolve(owner)).get(attribute) is not replacement, (fix.name, owner)
