"""Step Functions fixes (sandbox/moto_fixes/stepfunctions.py): moto is still broken without each, and it works."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from sandbox import moto_fixes
from sandbox.account import ACCOUNT_ID, Sandbox
from sandbox.moto_fixes import suspended
from tests.sandbox.moto_fixes.support import (
    create_function,
    create_machine,
    function_arn,
    run_machine,
    timed,
    wait_for,
)


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
    machine = create_machine(account, {**PASS, "Comment": uuid.uuid4().hex})
    parses = _count_parses(monkeypatch)
    with suspended("sfn-program-cache"):
        for _ in range(2):
            wait_for(account, run_machine(account, machine))
    assert len(parses) == 2


def test_program_cache_with_fix(account: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    machine = create_machine(account, {**PASS, "Comment": uuid.uuid4().hex})
    parses = _count_parses(monkeypatch)
    for _ in range(3):
        assert wait_for(account, run_machine(account, machine))["status"] == "SUCCEEDED"
    assert len(parses) == 1


def test_jsonpath_cache_without_fix(account: Sandbox) -> None:
    from moto.stepfunctions.parser.asl.utils import json_path

    with suspended("sfn-jsonpath-cache"):
        assert json_path.parse("$.a.b") is not json_path.parse("$.a.b")


def test_jsonpath_cache_with_fix(account: Sandbox) -> None:
    from moto.stepfunctions.parser.asl.utils import json_path

    assert json_path.parse("$.a.b") is json_path.parse("$.a.b")
    assert json_path.extract_json("$.a.b", {"a": {"b": 2}}) == 2


# With a fix, the back-off is not slept: a back-off far longer than wait_for's deadline proves it
# without asserting on elapsed time (which a loaded machine would make flaky).
LONG_SECONDS = 3600


def _retrying(sandbox: Sandbox, interval: int = 1) -> str:
    retry = {"ErrorEquals": ["States.ALL"], "IntervalSeconds": interval, "MaxAttempts": 1}
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function_arn(create_function(sandbox, "fail"))},
        "Retry": [retry],
        "End": True,
    }
    return create_machine(sandbox, {"StartAt": "T", "States": {"T": task}})


def test_instant_retry_without_fix(account: Sandbox) -> None:
    machine = _retrying(account)
    with suspended("sfn-instant-retry"):
        described, seconds = timed(lambda: wait_for(account, run_machine(account, machine)))
    assert described["error"] == "Order.OutOfStock" and seconds >= 1.0


def test_instant_retry_with_fix(account: Sandbox) -> None:
    described = wait_for(account, run_machine(account, _retrying(account, LONG_SECONDS)))
    assert described["error"] == "Order.OutOfStock"
    assert [(s.kind, s.seconds, s.state) for s in account.clock.sleeps(described["executionArn"])] == [
        ("retry", float(LONG_SECONDS), "T")
    ]


WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}
LONG_WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": LONG_SECONDS, "End": True}}}


def test_instant_wait_without_fix(account: Sandbox) -> None:
    machine = create_machine(account, WAIT)
    with suspended("sfn-instant-wait"):
        _, seconds = timed(lambda: wait_for(account, run_machine(account, machine)))
    assert seconds >= 1.0


def test_instant_wait_with_fix(account: Sandbox) -> None:
    described = wait_for(account, run_machine(account, create_machine(account, LONG_WAIT)))
    assert described["status"] == "SUCCEEDED"
    assert [(s.kind, s.seconds) for s in account.clock.sleeps(described["executionArn"])] == [
        ("wait", float(LONG_SECONDS))
    ]


def _token_task(sandbox: Sandbox, handler: str, token_key: str) -> dict[str, Any]:
    """A .waitForTaskToken task (1 h timeout) whose function receives its token as `token_key`."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {
            "FunctionName": function_arn(create_function(sandbox, handler)),
            "Payload": {f"{token_key}.$": "$$.Task.Token"},
        },
        "TimeoutSeconds": 3600,
        "End": True,
    }


def _waiting_for_token(sandbox: Sandbox, then: dict[str, Any] | None = None) -> str:
    task = _token_task(sandbox, "keep_token", "token")
    states: dict[str, Any] = {"T": task}
    if then is not None:  # caught after the timeout: the execution runs on in `then`
        del task["End"]
        task.update(Next="Then", Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Then"}])
        states["Then"] = then
    arn = run_machine(sandbox, create_machine(sandbox, {"StartAt": "T", "States": states}))
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
    assert wait_for(account, arn, timeout=5)["error"] == "States.Timeout"


def test_stop_releases_callback_without_fix(account: Sandbox) -> None:
    arn = _waiting_for_token(account)
    with suspended("sfn-stop-releases-callback"):
        account.client("stepfunctions").stop_execution(executionArn=arn)
        time.sleep(0.3)
        assert account.client("stepfunctions").describe_execution(executionArn=arn)["status"] == "RUNNING"
    account.clock.advance(3601)  # let the task time out: the thread ends with the test


def test_stop_releases_callback_with_fix(account: Sandbox) -> None:
    arn = _waiting_for_token(account)
    account.client("stepfunctions").stop_execution(executionArn=arn)
    assert wait_for(account, arn, timeout=5)["status"] == "ABORTED"


def test_task_failure_cause_without_fix(account: Sandbox) -> None:
    from tests.sandbox import handlers

    arn = _waiting_for_token(account)
    with suspended("sfn-task-failure-cause"):
        account.client("stepfunctions").send_task_failure(taskToken=handlers.tokens[-1], error="E", cause="why")
    assert not wait_for(account, arn).get("cause")


def test_task_failure_cause_with_fix(account: Sandbox) -> None:
    from tests.sandbox import handlers

    arn = _waiting_for_token(account)
    account.client("stepfunctions").send_task_failure(taskToken=handlers.tokens[-1], error="E", cause="why")
    described = wait_for(account, arn)
    assert (described["error"], described["cause"]) == ("E", "why")


def test_callback_single_use_without_fix(account: Sandbox) -> None:
    from tests.sandbox import handlers

    arn = _waiting_for_token(account)
    sfn = account.client("stepfunctions")
    with suspended("sfn-callback-single-use"):
        sfn.send_task_success(taskToken=handlers.tokens[-1], output="{}")
        sfn.send_task_failure(taskToken=handlers.tokens[-1], error="E", cause="a second answer, accepted")
    wait_for(account, arn)


def test_callback_single_use_with_fix(account: Sandbox) -> None:
    from tests.sandbox import handlers

    sfn = account.client("stepfunctions")
    arn = _waiting_for_token(account)
    sfn.send_task_success(taskToken=handlers.tokens[-1], output="{}")
    with pytest.raises(sfn.exceptions.TaskDoesNotExist):
        sfn.send_task_failure(taskToken=handlers.tokens[-1], error="E", cause="a second answer")
    assert wait_for(account, arn)["status"] == "SUCCEEDED"
    # A token whose task timed out is refused while its execution still runs (in a second wait).
    second = _token_task(account, "echo", "t")
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
    machine = create_machine(account, PASS)
    with suspended("sfn-input-size"):
        arn = _start_with(account, machine, _input_of_bytes(moto_fixes.MAX_EXECUTION_INPUT_BYTES + 2))
    # Accepted and run (its first state then fails it, States.DataLimitExceeded): AWS never starts it.
    assert wait_for(account, arn)["executionArn"] == arn


def test_input_size_with_fix(account: Sandbox) -> None:
    from botocore.exceptions import ClientError

    # The state drops its input (moto's own per-state size check is stricter than AWS's: < 256 KiB).
    machine = create_machine(
        account, {"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": None, "End": True}}}
    )
    limit = moto_fixes.MAX_EXECUTION_INPUT_BYTES
    assert wait_for(account, _start_with(account, machine, _input_of_bytes(limit, "é")))["status"] == "SUCCEEDED"
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
        bus = wait_for(
            account, run_machine(account, create_machine(account, _caught(_put_events("missing-bus"), "States.ALL")))
        )
        queue = wait_for(account, run_machine(account, create_machine(account, _caught(_send_message(MISSING_QUEUE)))))
    assert json.loads(bus["output"])["Error"] == "States.Runtime"  # a name reserved for the interpreter
    assert json.loads(queue["output"])["Error"] == "SQS.SdkClientException"


def test_integration_errors_with_fix(account: Sandbox) -> None:
    for errors in ("States.TaskFailed", "States.ALL"):
        arn = run_machine(account, create_machine(account, _caught(_put_events("missing-bus"), errors)))
        caught = json.loads(wait_for(account, arn)["output"])
        assert caught["Error"] == "EventBridge.ResourceNotFoundException"
        assert "(Service: AmazonEventBridge; Status Code: 400; Error Code: ResourceNotFoundException" in caught["Cause"]
        assert _task_failures(account, arn) == ["EventBridge.ResourceNotFoundException"] * 2  # retried once
        arn = run_machine(account, create_machine(account, _caught(_send_message(MISSING_QUEUE), errors)))
        assert json.loads(wait_for(account, arn)["output"])["Error"] == "SQS.QueueDoesNotExistException"
    # Uncaught, the execution fails with it; an entry EventBridge refuses is EventBridge.FailedEntry.
    uncaught = {"StartAt": "T", "States": {"T": _put_events("missing-bus", End=True)}}
    assert (
        wait_for(account, run_machine(account, create_machine(account, uncaught)))["error"]
        == "EventBridge.ResourceNotFoundException"
    )
    refused = {"StartAt": "T", "States": {"T": _put_events("default", source=None, End=True)}}
    assert (
        wait_for(account, run_machine(account, create_machine(account, refused)))["error"] == "EventBridge.FailedEntry"
    )


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
    return wait_for(sandbox, run_machine(sandbox, create_machine(sandbox, definition), payload))


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
    assert (
        wait_for(account, run_machine(account, create_machine(account, definition)))["error"]
        == "EventBridge.FailedEntry"
    )
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
        "Parameters": {"FunctionName": function_arn(create_function(sandbox, "until_fixed")), "Payload.$": "$"},
        "OutputPath": "$.Payload",
        "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2, "IntervalSeconds": 1}],
        "Next": "Done",
    }
    states = {
        "Committed": {"Type": "Pass", "Result": "yes", "ResultPath": "$.committed", "Next": "Record"},
        "Record": record,
        "Done": {"Type": "Pass", "End": True},
    }
    return run_machine(sandbox, create_machine(sandbox, {"StartAt": "Committed", "States": states}), {"orderId": "o-1"})


def _entered(sandbox: Sandbox, arn: str) -> list[str]:
    history = sandbox.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] if "stateEnteredEventDetails" in e else e["type"] for e in history]


def test_redrive_without_fix(account: Sandbox) -> None:
    sfn = account.client("stepfunctions")
    arn = _stalled_after_commit(account)
    assert wait_for(account, arn)["status"] == "FAILED"
    with suspended("sfn-redrive"):
        assert "redriveCount" not in sfn.describe_execution(executionArn=arn)
        with pytest.raises(Exception, match=r"(?i)redrive"):
            sfn.redrive_execution(executionArn=arn)


def test_redrive_with_fix(account: Sandbox) -> None:
    from tests.sandbox import handlers

    sfn = account.client("stepfunctions")
    arn = _stalled_after_commit(account)
    failed = wait_for(account, arn)
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
    done = wait_for(account, arn)
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
        arn = run_machine(server, create_machine(server, definition))
        assert wait_for(server, arn)["error"] == "EventBridge.ResourceNotFoundException"
        server.client("events").create_event_bus(Name=bus)
        sfn = server.client("stepfunctions")
        assert sfn.meta.endpoint_url == server.endpoint_url
        sfn.redrive_execution(executionArn=arn)
        done = wait_for(server, arn)
        assert (done["status"], done["redriveCount"]) == ("SUCCEEDED", 1)


def _running_executions(sandbox: Sandbox, count: int) -> list[str]:
    """`count` executions of one machine, each waiting for its task token, newest first (ListExecutions' order)."""
    machine = create_machine(sandbox, {"StartAt": "T", "States": {"T": _token_task(sandbox, "keep_token", "token")}})
    arns = [run_machine(sandbox, machine) for _ in range(count)]
    history = sandbox.client("stepfunctions").get_execution_history
    deadline = time.monotonic() + 10
    for arn in arns:
        while not any(e["type"] == "TaskSubmitted" for e in history(executionArn=arn)["events"]):
            assert time.monotonic() < deadline
            time.sleep(0.02)
    return arns[::-1]


def _list_running_in_pages_of_two(sandbox: Sandbox, arns: list[str]) -> list[str]:
    """Page 1 (the two newest), then the execution page 2 starts at stops, as one would between two
    calls of a paginated listing (Runner.wait's case: an order finishes), then page 2."""
    sfn = sandbox.client("stepfunctions")
    machine = sfn.describe_execution(executionArn=arns[0])["stateMachineArn"]
    first = sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING", maxResults=2)
    assert [e["executionArn"] for e in first["executions"]] == arns[:2]
    sfn.stop_execution(executionArn=arns[2])
    assert wait_for(sandbox, arns[2], timeout=5)["status"] == "ABORTED"
    second = sfn.list_executions(
        stateMachineArn=machine, statusFilter="RUNNING", maxResults=2, nextToken=first["nextToken"]
    )
    return [e["executionArn"] for e in first["executions"] + second["executions"]]


def test_list_executions_token_without_fix(account: Sandbox) -> None:
    arns = _running_executions(account, 4)
    with suspended("sfn-list-executions-token"), pytest.raises(Exception, match="InvalidToken"):
        _list_running_in_pages_of_two(account, arns)


def test_list_executions_token_with_fix(account: Sandbox) -> None:
    arns = _running_executions(account, 4)
    assert _list_running_in_pages_of_two(account, arns) == [arns[0], arns[1], arns[3]]
    # A token from another listing is refused, as AWS does.
    sfn = account.client("stepfunctions")
    machine = sfn.describe_execution(executionArn=arns[0])["stateMachineArn"]
    token = sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING", maxResults=1)["nextToken"]
    with pytest.raises(sfn.exceptions.InvalidToken):
        sfn.list_executions(stateMachineArn=machine, statusFilter="ABORTED", nextToken=token)


DAY = 86_400.0
STAMPED = {
    "StartAt": "P",
    "States": {"P": {"Type": "Pass", "Parameters": {"at.$": "$$.State.EnteredTime"}, "End": True}},
}


def _times_after_an_advance(account: Sandbox) -> tuple[float, list[float]]:
    """The sandbox's time before a run (its clock a day ahead), and every time the run shows."""
    account.clock.advance(DAY)
    before = account.clock.now()
    arn = run_machine(account, create_machine(account, STAMPED))
    described = wait_for(account, arn)
    history = account.client("stepfunctions").get_execution_history(executionArn=arn)["events"]
    entered = datetime.fromisoformat(json.loads(described["output"])["at"])
    moments = [described["startDate"], described["stopDate"], entered, *(event["timestamp"] for event in history)]
    return before, [moment.timestamp() for moment in moments]


def test_clock_times_without_fix(account: Sandbox) -> None:
    with suspended("sfn-clock-times"):
        before, times = _times_after_an_advance(account)
    assert all(t < before - DAY + 60 for t in times)  # the wall clock's


def test_clock_times_with_fix(account: Sandbox) -> None:
    before, times = _times_after_an_advance(account)
    assert all(before - 1 <= t <= account.clock.now() + 1 for t in times)
