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


def test_moto_is_itself_again_after_a_sandbox() -> None:
    with Sandbox(cdk_out=None):
        pass
    for fix in moto_fixes.FIXES.values():
        for (owner, attribute), replacement in zip(fix.targets, fix.replacements, strict=True):
            assert vars(moto_fixes._resolve(owner)).get(attribute) is not replacement, (fix.name, owner)
