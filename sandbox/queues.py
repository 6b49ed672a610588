"""SQS -> Lambda event source mappings, as Lambda runs them, for the queues in the template.

moto 5.2.5 deploys an ``AWS::Lambda::EventSourceMapping`` but runs it on the sender's thread inside
``SendMessage``: one synchronous invoke per message sent, the whole batch deleted or made visible again at
once, no ``ReportBatchItemFailures``, no ``ScalingConfig.MaximumConcurrency``, no redrive to the queue's
dead-letter queue (a failed message simply waits until the next send). The sandbox takes every enabled SQS
mapping over from moto after the deploy (``QueuePollers.take_over``) and polls as Lambda does:

- up to ``BatchSize`` visible messages per invoke, at most ``MaximumConcurrency`` invokes of a mapping at once
  (Lambda's default without a ScalingConfig: as many as the function may run, here the pool's size);
- the invoke's answer: a function error fails the whole batch; ``{"batchItemFailures": [{"itemIdentifier":
  id}]}`` (with ``ReportBatchItemFailures``) fails those messages only; the others are deleted;
- a failed message is visible again after the queue's visibility timeout, **on the sandbox clock**: when the
  pollers have nothing visible and nothing in flight they let the clock pass to the next message's visibility
  (recorded as a ``queue-visibility`` sleep), so a retry an hour away takes no real time, and SES's sending
  rate (sandbox/ses.py, counted on the same clock) refills meanwhile. Only while the whole sandbox is quiet
  (``Clock.quiet()``: no invocation running or just ended; the same signal the clock's other skips use): the
  workflows run in real time, and jumping a visibility timeout while they hold the account's concurrency
  would retry a throttled message again and again within a second, where SQS gives the throttle its
  visibility timeout (minutes) to clear;
- a throttled invoke (429: the account's concurrency is used up, sandbox/concurrency.py) is retried with
  back-off while the batch's visibility timeout runs, as Lambda does; once it has passed the messages are
  back in the queue, received again on the next poll, and that receive counts (ApproximateReceiveCount);
- a message received more than the queue's ``maxReceiveCount`` times moves to its dead-letter queue (the
  body as sent: the EventBridge event), as SQS does on the receive that exceeds it.

Each message is recorded as a ``Delivery`` (sandbox/events.py) in the sandbox's deliveries, under the rule
that put it on the queue, so the demo and the tests read buffered and direct subscribers alike. A batch item's
error is what the function logged for it (a JSON line with ``messageId`` and ``error``), else a note.

Messages the pollers hold are received from moto once with a long visibility timeout and kept here; the
queue's visibility state is the pollers' own (``held``), not moto's.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from moto.utilities.arns import parse_arn

from sandbox import concurrency
from sandbox.clock import Clock
from sandbox.events import Delivery, error_text
from sandbox.lambda_runtime import Invocation

HOLD_SECONDS = 43_200  # SQS's longest visibility timeout: moto hides what the pollers hold
IDLE_SECONDS = Clock.POLL_SECONDS
QUEUE_VISIBILITY = "queue-visibility"  # the kind of the clock's record of a skipped visibility timeout
DEFAULT_MAX_CONCURRENCY = 16  # no ScalingConfig: Lambda scales with the function's concurrency
# A throttled batch's invoke is retried after this many real seconds, doubling up to the cap.
THROTTLED_RETRY_SECONDS = 0.05
THROTTLED_RETRY_MAX_SECONDS = 1.0
THROTTLED = "throttled until its visibility timeout passed: back in the queue"  # a delivery's error then


@dataclass
class Held:
    """One message the pollers hold: its state in the queue as Lambda sees it."""

    message_id: str
    receipt: str
    body: str
    delivery: Delivery
    receives: int = 0
    visible_at: float = 0.0  # sandbox clock
    in_flight: bool = False
    sent_at: float = field(default_factory=time.time)


@dataclass
class Mapping:
    """One SQS event source mapping the sandbox runs."""

    uuid: str
    function_arn: str
    queue_arn: str
    queue_name: str
    region: str
    account: str
    batch_size: int
    max_concurrency: int
    reports_item_failures: bool
    visibility_timeout: float
    max_receive_count: int | None
    dead_letter_arn: str | None
    rule: tuple[str, str]  # (rule name, target id) that puts events on the queue, for the delivery records
    held: list[Held] = field(default_factory=list)
    running: int = 0


class QueuePollers:
    def __init__(
        self,
        clock: Clock,
        invoke: Any,  # (moto LambdaFunction, event) -> Invocation
        find_function: Any,  # function ARN -> moto LambdaFunction or None
        deliveries: list[Delivery],  # the sandbox's (LambdaTargets.deliveries): appended to
    ) -> None:
        self._clock = clock
        self._invoke = invoke
        self._find_function = find_function
        self._deliveries = deliveries
        self._lock = threading.Condition()
        self._mappings: list[Mapping] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    @property
    def mappings(self) -> list[Mapping]:
        return list(self._mappings)

    # -- lifecycle ------------------------------------------------------------------------------------
    def take_over(self, account: str, region: str) -> None:
        """Run every enabled SQS mapping of the account here instead of in moto's SendMessage (again after
        another stack was deployed into the account: the mappings already taken over stay as they are)."""
        from moto.awslambda.models import lambda_backends
        from moto.sqs.models import sqs_backends

        backend = lambda_backends[account][region]
        sqs = sqs_backends[account][region]
        taken = {mapping.uuid for mapping in self._mappings}
        for esm in list(backend._event_source_mappings.values()):
            source = parse_arn(esm.event_source_arn)
            if source.service != "sqs" or not esm.enabled or esm.uuid in taken:
                continue
            queue = sqs.get_queue(source.resource_id)
            queue.lambda_event_source_mappings.pop(esm.function_arn, None)
            redrive = queue.redrive_policy or {}
            scaling = esm.scaling_config or {}
            self._mappings.append(
                Mapping(
                    uuid=esm.uuid,
                    function_arn=esm.function_arn,
                    queue_arn=esm.event_source_arn,
                    queue_name=source.resource_id,
                    region=region,
                    account=account,
                    batch_size=int(esm.batch_size or 10),
                    max_concurrency=int(scaling.get("MaximumConcurrency") or DEFAULT_MAX_CONCURRENCY),
                    reports_item_failures="ReportBatchItemFailures" in (esm.function_response_types or []),
                    visibility_timeout=float(getattr(queue, "visibility_timeout", 30)),
                    max_receive_count=int(redrive["maxReceiveCount"]) if "maxReceiveCount" in redrive else None,
                    dead_letter_arn=redrive.get("deadLetterTargetArn"),
                    rule=_rule_targeting(account, region, esm.event_source_arn),
                )
            )
        if self._mappings:
            workers = sum(m.max_concurrency for m in self._mappings)
            self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sqs-poller")
            self._thread = threading.Thread(target=self._loop, name="sqs-pollers", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def idle(self) -> bool:
        """Nothing held, nothing in flight, nothing waiting in moto's queues."""
        with self._lock:
            return all(not m.held and not m.running and not _waiting(m) for m in self._mappings)

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every message has been processed or dead-lettered (the clock moves as needed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            with self._lock:
                self._lock.wait(IDLE_SECONDS)
        return self.idle()

    # -- polling --------------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                busy = False
                for mapping in self._mappings:
                    busy = self._poll(mapping) or busy
                if not busy:
                    self._skip_visibility_wait()
                self._lock.wait(IDLE_SECONDS)

    def _poll(self, mapping: Mapping) -> bool:
        """Take new messages from moto, start batches while the mapping may; True when something is going on."""
        self._receive_new(mapping)
        now = self._clock.now()
        while mapping.running < mapping.max_concurrency:
            visible = [h for h in mapping.held if not h.in_flight and h.visible_at <= now][: mapping.batch_size]
            if not visible:
                break
            batch = []
            for held in visible:
                held.receives += 1
                if mapping.max_receive_count is not None and held.receives > mapping.max_receive_count:
                    self._dead_letter(mapping, held)
                    continue
                held.in_flight = True
                held.visible_at = now + mapping.visibility_timeout
                batch.append(held)
            if batch:
                mapping.running += 1
                assert self._pool is not None
                self._pool.submit(self._run, mapping, batch)
        return mapping.running > 0 or any(h.visible_at <= now and not h.in_flight for h in mapping.held)

    def _receive_new(self, mapping: Mapping) -> None:
        from moto.sqs.models import sqs_backends

        backend = sqs_backends[mapping.account][mapping.region]
        while True:
            messages = backend.receive_message(mapping.queue_name, 10, 0, HOLD_SECONDS)
            if not messages:
                return
            for message in messages:
                mapping.held.append(self._hold(mapping, message))

    def _hold(self, mapping: Mapping, message: Any) -> Held:
        try:
            event = json.loads(message.body)
        except ValueError:
            event = {}
        detail = event.get("detail") if isinstance(event, dict) else None
        metadata = detail.get("metadata", {}) if isinstance(detail, dict) else {}
        delivery = Delivery(
            rule=mapping.rule[0],
            target_id=mapping.rule[1],
            function=mapping.function_arn,
            event_id=str(event.get("id", message.id)) if isinstance(event, dict) else message.id,
            detail_type=str(event.get("detail-type", "")) if isinstance(event, dict) else "",
            correlation_id=metadata.get("correlationId") if isinstance(metadata, dict) else None,
        )
        self._deliveries.append(delivery)  # list.append is atomic: LambdaTargets appends from its threads too
        return Held(message.id, message.receipt_handle, message.body, delivery, visible_at=self._clock.now())

    def _skip_visibility_wait(self) -> None:
        """Nothing to run and nothing in flight: when the sandbox is quiet, let the clock pass to the next
        message's visibility."""
        waiting = [h.visible_at for m in self._mappings for h in m.held if not h.in_flight]
        if waiting and not any(m.running for m in self._mappings):
            self._clock.skip_while_quiet(min(waiting), QUEUE_VISIBILITY, "sqs")

    # -- one batch ------------------------------------------------------------------------------------
    def _run(self, mapping: Mapping, batch: list[Held]) -> None:
        failed: set[str] = {h.message_id for h in batch}
        invocation: Invocation | None = None
        throttled = False
        try:
            function = self._find_function(mapping.function_arn)
            event = {"Records": [_record(mapping, h) for h in batch]}
            invocation = self._invoke_until_visible(function, event, batch)
            throttled = invocation is None
            if invocation is not None:
                failed = _failed_items(invocation, batch, mapping.reports_item_failures)
        finally:
            with self._lock:
                mapping.running -= 1
                for held in batch:
                    held.in_flight = False
                    if throttled:
                        held.delivery.error = THROTTLED  # never ran: visible again now, received again
                        continue
                    held.delivery.attempts += 1
                    if held.message_id in failed:
                        held.delivery.error = _item_error(invocation, held)
                    else:
                        held.delivery.outcome = "SUCCEEDED"
                        self._delete(mapping, held)
                self._lock.notify_all()

    def _invoke_until_visible(self, function: Any, event: Any, batch: list[Held]) -> Invocation | None:
        """Invoke; a throttled invoke is retried with back-off until the batch's visibility timeout passes (then
        None: the messages are back in the queue)."""
        visible_at = min(h.visible_at for h in batch)
        wait = THROTTLED_RETRY_SECONDS
        while True:
            try:
                return self._invoke(function, event)
            except Exception as error:
                if not concurrency.throttled(error):
                    raise
            if self._clock.now() >= visible_at or self._stop.is_set():
                return None
            time.sleep(wait)
            wait = min(wait * 2, THROTTLED_RETRY_MAX_SECONDS)

    def _delete(self, mapping: Mapping, held: Held) -> None:
        from moto.sqs.models import sqs_backends

        sqs_backends[mapping.account][mapping.region].delete_message(mapping.queue_name, held.receipt)
        mapping.held.remove(held)

    def _dead_letter(self, mapping: Mapping, held: Held) -> None:
        from moto.sqs.models import sqs_backends

        held.delivery.outcome = "FAILED"
        held.delivery.dead_letter = mapping.dead_letter_arn
        if mapping.dead_letter_arn:
            dead_letter = parse_arn(mapping.dead_letter_arn)
            sqs_backends[dead_letter.account][dead_letter.region].send_message(dead_letter.resource_id, held.body)
        self._delete(mapping, held)


def _waiting(mapping: Mapping) -> bool:
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[mapping.account][mapping.region].get_queue(mapping.queue_name)
    return any(message.visible for message in queue._messages)


def _record(mapping: Mapping, held: Held) -> dict[str, Any]:
    return {
        "messageId": held.message_id,
        "receiptHandle": held.receipt,
        "body": held.body,
        "attributes": {
            "ApproximateReceiveCount": str(held.receives),
            "SentTimestamp": str(int(held.sent_at * 1000)),
        },
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": mapping.queue_arn,
        "awsRegion": mapping.region,
    }


def _failed_items(invocation: Invocation, batch: list[Held], reports_item_failures: bool) -> set[str]:
    """The messages of the batch that failed: all of them on a function error; else those the function
    reported (with ReportBatchItemFailures; an answer Lambda cannot read fails the whole batch)."""
    every = {h.message_id for h in batch}
    if invocation.errored:
        return every
    if not reports_item_failures:
        return set()
    try:
        answer = json.loads(invocation.payload)
    except ValueError:
        return every
    if not isinstance(answer, dict) or not answer.get("batchItemFailures"):
        return set()
    reported = {str(item.get("itemIdentifier")) for item in answer["batchItemFailures"] if isinstance(item, dict)}
    return every if not reported <= every else reported


def _item_error(invocation: Invocation | None, held: Held) -> str:
    if invocation is None:
        return "the sandbox could not invoke the function"
    if invocation.errored:
        return error_text(invocation)
    for line in invocation.logs.splitlines():
        try:
            logged = json.loads(line)
        except ValueError:
            continue
        if isinstance(logged, dict) and logged.get("messageId") == held.message_id and logged.get("error"):
            return str(logged["error"])
    return "reported as a batch item failure"


def _rule_targeting(account: str, region: str, queue_arn: str) -> tuple[str, str]:
    """(rule name, target id) of the rule whose target is this queue ("" when none)."""
    from moto.events.models import events_backends

    for bus in events_backends[account][region].event_buses.values():
        for rule in bus.rules.values():
            for target in rule.targets:
                if target.get("Arn") == queue_arn:
                    return rule.name, str(target.get("Id", ""))
    return "", ""
