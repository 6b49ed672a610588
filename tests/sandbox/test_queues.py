"""sandbox/queues.py, through what a subscriber's queue does: a failed message comes back after its visibility
timeout, which passes on the sandbox clock only while nothing else runs (the workflows run in real time: jumping it
while they hold the account's concurrency would retry a throttled message again and again within a second, where
SQS gives the throttle minutes to clear); a throttled batch is retried until its visibility timeout passes, and
then received again, which SQS counts: throttling that outlasts it ends in the dead-letter queue."""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from sandbox.clock import Clock
from sandbox.concurrency import ConcurrencyCap
from sandbox.events import Delivery
from sandbox.lambda_runtime import FunctionSpec, Invocation
from sandbox.queues import QUEUE_VISIBILITY, QueuePollers

ACCOUNT, REGION = "123456789012", "eu-west-1"
VISIBILITY_SECONDS = 360
MAX_RECEIVE_COUNT = 2
OK = Invocation("{}", False, "", "r", 1.0)
CRASHED = Invocation(json.dumps({"errorType": "RuntimeError", "errorMessage": "boom"}), True, "", "r", 1.0)
SPEC = FunctionSpec("f", "arn:aws:lambda:eu-west-1:123456789012:function:f", "m.handler", {}, 3.0, 128, REGION)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("m.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


@pytest.fixture
def buffer(aws: None) -> dict[str, str]:
    """A queue with a dead-letter queue (maxReceiveCount 2), read by a function through an event source mapping."""
    sqs = boto3.client("sqs", region_name=REGION)
    dead_letters = sqs.create_queue(QueueName="dead-letters")["QueueUrl"]
    dead_letter_arn = sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])["Attributes"]
    redrive = {"deadLetterTargetArn": dead_letter_arn["QueueArn"], "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
    url = sqs.create_queue(
        QueueName="buffer",
        Attributes={"VisibilityTimeout": str(VISIBILITY_SECONDS), "RedrivePolicy": json.dumps(redrive)},
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    role = boto3.client("iam").create_role(RoleName="f", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    functions = boto3.client("lambda", region_name=REGION)
    functions.create_function(
        FunctionName="f", Runtime="python3.12", Role=role, Handler="m.handler", Code={"ZipFile": _zip()}
    )
    functions.create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName="f", BatchSize=1, FunctionResponseTypes=["ReportBatchItemFailures"]
    )
    return {"url": url, "dead_letters": dead_letters, "dead_letter_arn": redrive["deadLetterTargetArn"]}


@pytest.fixture
def run_pollers(buffer: dict[str, str]) -> Iterator[Callable[..., QueuePollers]]:
    started: list[QueuePollers] = []

    def start(clock: Clock, invoke: Callable[[Any, Any], Invocation], deliveries: list[Delivery]) -> QueuePollers:
        pollers = QueuePollers(clock, invoke, find_function=lambda arn: arn, deliveries=deliveries)
        pollers.take_over(ACCOUNT, REGION)
        started.append(pollers)
        return pollers

    yield start
    for pollers in started:
        pollers.close()


def _fails_first(calls: list[Any]) -> Callable[[Any, Any], Invocation]:
    def invoke(function: Any, event: Any) -> Invocation:
        calls.append(event)
        return CRASHED if len(calls) == 1 else OK

    return invoke


def _quiet(clock: Clock) -> None:
    deadline = time.monotonic() + 5
    while not clock.quiet() and time.monotonic() < deadline:
        time.sleep(0.01)


def _send(buffer: dict[str, str]) -> None:
    boto3.client("sqs", region_name=REGION).send_message(QueueUrl=buffer["url"], MessageBody=json.dumps({"id": "e"}))


def test_a_failed_messages_visibility_timeout_passes_on_the_clock_when_the_sandbox_is_quiet(buffer, run_pollers):
    clock, calls = Clock(), []
    _quiet(clock)
    pollers = run_pollers(clock, _fails_first(calls), [])
    _send(buffer)
    assert pollers.drain(timeout=10)
    assert len(calls) == 2  # failed once, visible again 360 virtual seconds later, then done
    assert [json.loads(c["Records"][0]["attributes"]["ApproximateReceiveCount"]) for c in calls] == [1, 2]
    skipped = [s.seconds for s in clock.sleeps() if s.kind == QUEUE_VISIBILITY]
    assert len(skipped) == 1 and VISIBILITY_SECONDS - 1 < skipped[0] <= VISIBILITY_SECONDS


def test_it_is_waited_for_while_other_functions_run(buffer, run_pollers):
    clock, calls = Clock(), []
    pollers = run_pollers(clock, _fails_first(calls), [])
    with clock.running():  # a workflow's task, say
        _send(buffer)
        assert not pollers.drain(timeout=0.5)
        assert len(calls) == 1 and not [s for s in clock.sleeps() if s.kind == QUEUE_VISIBILITY]
    assert pollers.drain(timeout=10) and len(calls) == 2


def test_a_batch_throttled_beyond_its_visibility_timeout_is_received_again_and_dead_lettered(buffer, run_pollers):
    # The account's only slot is taken for the whole test: every invoke of the batch is refused with 429.
    cap, release, holding = ConcurrencyCap(1), threading.Event(), threading.Event()
    holder = threading.Thread(target=cap, args=(SPEC, {}, lambda: holding.set() or release.wait(30) or OK))
    holder.start()
    holding.wait(5)
    clock = Clock()
    ran: list[Any] = []
    deliveries: list[Delivery] = []  # what the pollers record (in a sandbox: Sandbox.targets.deliveries)
    run_pollers(clock, lambda function, event: cap(SPEC, event, lambda: ran.append(event) or OK), deliveries)
    try:
        _send(buffer)
        sqs = boto3.client("sqs", region_name=REGION)
        deadline = time.monotonic() + 20
        dead: list[Any] = []
        while not dead and time.monotonic() < deadline:
            time.sleep(0.3)  # the poller retries the batch meanwhile
            clock.advance(VISIBILITY_SECONDS)  # its visibility timeout passes: the message is received again
            dead = sqs.receive_message(QueueUrl=buffer["dead_letters"]).get("Messages", [])
        assert [json.loads(m["Body"]) for m in dead] == [{"id": "e"}]
        [delivery] = deliveries
        assert delivery.outcome == "FAILED" and delivery.dead_letter == buffer["dead_letter_arn"]
        assert delivery.attempts == 0 and ran == []  # never ran: throttled on each of its receives
        assert cap.throttled >= MAX_RECEIVE_COUNT
    finally:
        release.set()
        holder.join(5)
