"""replay and redrive: bringing a subscriber up to date.

- replay: archived events of a time window, sent again to one rule only (EventBridge StartReplay
  with the rule as its only FilterArn): a new subscriber learns the past, the others hear nothing.
  EventBridge does not say how many events a replay sends; orderctl counts the audit trail's events
  of the window that the rule's pattern matches (EventBridge's TestEventPattern decides).
- redrive: the events a subscriber gave up on (its dead-letter queue), handed to its function again
  once the cause is fixed. Each is deleted only when the function took it; subscribers are
  idempotent, so an event they had in fact applied changes nothing.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from lambdas.shared import constants
from lambdas.subscribers.audit.store import AuditTable
from orderctl import render
from orderctl.errors import UsageError
from orderctl.stack import DeployedStack

_RELATIVE = re.compile(r"^(\d+)\s*(m|min|h|d)$")
_UNIT_SECONDS = {"m": 60, "min": 60, "h": 3600, "d": 86_400}
REPLAY_DONE = {"COMPLETED", "FAILED", "CANCELLED"}
COUNT_MEANS = (
    "the replay sends these (EventBridge reports no count), plus any the audit trail does not hold: "
    "marketplace events, a publish retried, events not audited yet"
)
# How long a message being redriven stays hidden from other readers of the queue.
REDRIVE_VISIBILITY_SECONDS = 120


def parse_moment(text: str, now: datetime) -> datetime:
    """ISO 8601 (a date, or a time; UTC unless it says otherwise) or an age: 30m, 6h, 2d ago."""
    if match := _RELATIVE.match(text.strip()):
        return now - timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{text!r} is not a time", "write 2026-11-20, 2026-11-20T14:30 (UTC), or an age: 30m, 6h, 2d"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- replay --------------------------------------------------------------------------------------
def resolve_rule(stack: DeployedStack, rule: str) -> tuple[str, str]:
    """(label, rule ARN) for a subscriber name, a rule name on the order bus, or a rule ARN."""
    if rule in stack.subscribers():
        return rule, stack.subscriber_output(rule, constants.OUTPUT_SUBSCRIBER_RULE_ARN)
    if rule.startswith("arn:"):
        return rule.rsplit("/", 1)[-1], rule
    try:
        described = stack.client("events").describe_rule(
            Name=rule, EventBusName=stack.output(constants.OUTPUT_EVENT_BUS_NAME)
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            raise UsageError(
                f"no rule {rule!r} on the order bus",
                f"name a subscriber ({', '.join(stack.subscribers())}), a rule on the bus, or a rule ARN",
            ) from None
        raise
    return described["Name"], described["Arn"]


def audited_events(records: Iterable[Mapping[str, Any]], start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
    """The audit trail's events of the window [start, end] (their time, as StartReplay reads it), rebuilt
    as EventBridge events (personal data redacted, as the trail keeps them; account and region filled in
    by the caller)."""
    for record in records:
        moment = datetime.fromisoformat(str(record["eventTime"]).replace("Z", "+00:00"))
        if start <= moment <= end:
            yield {
                "id": record["eventId"] or record["eventKey"],
                "source": record["source"],
                "detail-type": record["detailType"],
                "time": record["eventTime"],
                "resources": [],
                "detail": json.loads(record["detail"]),
            }


def count_matching(stack: DeployedStack, rule_arn: str, start: datetime, end: datetime) -> int:
    """How many of the audit trail's events of the window the rule's pattern matches."""
    # arn:aws:events:REGION:ACCOUNT:rule/[BUS/]NAME
    _, _, _, region, account, resource = rule_arn.split(":", 5)
    bus, _, name = resource.removeprefix("rule/").rpartition("/")
    events = stack.client("events")
    pattern = events.describe_rule(Name=name, EventBusName=bus or "default")["EventPattern"]
    trail = AuditTable(stack.table(stack.subscriber_output("audit", constants.OUTPUT_SUBSCRIBER_TABLE)))
    return sum(
        bool(
            events.test_event_pattern(
                EventPattern=pattern, Event=json.dumps(event | {"account": account, "region": region})
            )["Result"]
        )
        for event in audited_events(trail.records(), start, end)
    )


def replay(
    stack: DeployedStack,
    rule: str,
    start: datetime,
    end: datetime,
    wait: float | None = None,
    now: datetime | None = None,
) -> render.Output:
    now = now or datetime.now(UTC)
    end = min(end, now)
    if start >= end:
        raise UsageError(f"the window is empty: {render.iso(start)} is not before {render.iso(end)}")
    label, rule_arn = resolve_rule(stack, rule)
    # Replay names: letters, digits, . - _ and at most 64 characters.
    name = re.sub(r"[^.\-_A-Za-z0-9]", "-", f"orderctl-{label}")[:48] + f"-{now:%Y%m%dT%H%M%S}"
    events = stack.client("events")
    events.start_replay(
        ReplayName=name,
        Description=f"orderctl: {render.iso(start)} to {render.iso(end)} to {label} only",
        EventSourceArn=stack.output(constants.OUTPUT_EVENT_ARCHIVE_ARN),
        EventStartTime=start,
        EventEndTime=end,
        Destination={"Arn": stack.output(constants.OUTPUT_EVENT_BUS_ARN), "FilterArns": [rule_arn]},
    )
    matching = count_matching(stack, rule_arn, start, end)
    described = events.describe_replay(ReplayName=name)
    deadline = time.monotonic() + (wait or 0)
    while wait is not None and described["State"] not in REPLAY_DONE and time.monotonic() < deadline:
        time.sleep(1)
        described = events.describe_replay(ReplayName=name)
    state = described["State"]
    data = {
        "replayName": name,
        "state": state,
        "ruleArn": rule_arn,
        "eventStartTime": render.iso(start),
        "eventEndTime": render.iso(end),
        "stateReason": described.get("StateReason"),
        "auditedEventsMatching": matching,
    }
    lines = [
        f"Replay {name}: {state}",
        render.fields(
            [
                ("events", f"archived from {render.when(start, now)} to {render.when(end, now)}"),
                ("to", f"{label} only (rule {rule_arn})"),
                ("count", f"{matching} event(s) of the audit trail in the window match the rule: {COUNT_MEANS}"),
            ]
        ),
    ]
    if described.get("StateReason"):
        lines.append(f"  reason  {described['StateReason']}")
    if state not in REPLAY_DONE:
        lines.append(f"Replays run in the background: aws events describe-replay --replay-name {name}")
    return render.Output(data, "\n".join(lines), ok=state not in ("FAILED", "CANCELLED"))


# -- redrive -------------------------------------------------------------------------------------
@dataclass
class DeadLetter:
    message_id: str
    receipt: str
    event: Any  # what the function receives again; None when the message is unreadable
    detail_type: str
    order_id: str
    why: str  # why it ended in the queue
    outcome: str = "waiting"  # redriven, failed, unreadable, waiting (dry run)
    error: str | None = None

    def as_data(self) -> dict[str, Any]:
        return {
            "messageId": self.message_id,
            "detailType": self.detail_type,
            "orderId": self.order_id,
            "deadLetterReason": self.why,
            "outcome": self.outcome,
            "error": self.error,
        }


def dead_letter(message: dict[str, Any]) -> DeadLetter:
    """Read one dead-letter message: an EventBridge target DLQ message (the event itself, the reason
    in its attributes) or a Lambda on-failure destination record (the event in requestPayload)."""
    try:
        body = json.loads(message["Body"])
    except ValueError:
        body = None
    attributes = {k: v.get("StringValue", "") for k, v in message.get("MessageAttributes", {}).items()}
    why = attributes.get("ERROR_MESSAGE") or attributes.get("ErrorMessage") or ""
    event = body
    if isinstance(body, dict) and "requestPayload" in body and "requestContext" in body:
        event = body["requestPayload"]
        response = body.get("responsePayload")
        if isinstance(response, dict) and not why:
            why = f"{response.get('errorType', 'Error')}: {response.get('errorMessage', '')}"
        why = why or str(body["requestContext"].get("condition", ""))
    detail = event.get("detail") if isinstance(event, dict) else None
    metadata = detail.get("metadata", {}) if isinstance(detail, dict) else {}
    return DeadLetter(
        message_id=message["MessageId"],
        receipt=message["ReceiptHandle"],
        event=event if isinstance(event, dict) else None,
        detail_type=str(event.get("detail-type", "?")) if isinstance(event, dict) else "?",
        order_id=str(metadata.get("correlationId", "?")) if isinstance(metadata, dict) else "?",
        why=why or "unknown",
    )


def redrive(stack: DeployedStack, subscriber: str, limit: int | None = None, dry_run: bool = False) -> render.Output:
    queue = stack.subscriber_output(subscriber, constants.OUTPUT_SUBSCRIBER_DEAD_LETTER_QUEUE)
    function = stack.subscriber_output(subscriber, constants.OUTPUT_SUBSCRIBER_FUNCTION)
    sqs, lambda_ = stack.client("sqs"), stack.client("lambda")
    letters: list[DeadLetter] = []
    seen: set[str] = set()
    to_release: list[str] = []  # receipts of messages that stay: visible again at once
    try:
        while limit is None or len(letters) < limit:
            batch = min(10, limit - len(letters)) if limit is not None else 10
            messages = sqs.receive_message(
                QueueUrl=queue,
                MaxNumberOfMessages=batch,
                VisibilityTimeout=REDRIVE_VISIBILITY_SECONDS,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            fresh = [m for m in messages if m["MessageId"] not in seen]
            if not fresh:
                break
            for message in fresh:
                seen.add(message["MessageId"])
                letter = dead_letter(message)
                letters.append(letter)
                if dry_run or letter.event is None:
                    letter.outcome = "waiting" if dry_run else "unreadable"
                    to_release.append(letter.receipt)
                    continue
                _redrive_one(lambda_, function, letter)
                if letter.outcome == "redriven":
                    sqs.delete_message(QueueUrl=queue, ReceiptHandle=letter.receipt)
                else:
                    to_release.append(letter.receipt)
    finally:
        for receipt in to_release:
            sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=receipt, VisibilityTimeout=0)
    return _redrive_output(subscriber, function, letters, dry_run)


def _redrive_one(lambda_: Any, function: str, letter: DeadLetter) -> None:
    response = lambda_.invoke(FunctionName=function, Payload=json.dumps(letter.event).encode())
    payload = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        letter.outcome = "failed"
        letter.error = (
            f"{payload.get('errorType')}: {payload.get('errorMessage')}" if isinstance(payload, dict) else str(payload)
        )
    else:
        letter.outcome = "redriven"


def _redrive_output(subscriber: str, function: str, letters: list[DeadLetter], dry_run: bool) -> render.Output:
    data = {
        "subscriber": subscriber,
        "function": function,
        "dryRun": dry_run,
        "messages": [m.as_data() for m in letters],
    }
    if not letters:
        return render.Output(data, f"The {subscriber} dead-letter queue is empty: nothing to redrive.")
    rows = [
        (m.outcome, m.detail_type, m.order_id, m.error or m.why if m.outcome != "redriven" else "") for m in letters
    ]
    table = render.table(("OUTCOME", "EVENT", "ORDER", "ERROR" if not dry_run else "WHY IT FAILED"), rows)
    if dry_run:
        text = f"{len(letters)} message(s) in the {subscriber} dead-letter queue (nothing changed):\n{table}"
        return render.Output(data, text)
    done = sum(m.outcome == "redriven" for m in letters)
    left = len(letters) - done
    summary = f"{done} redriven to {function}"
    if left:
        summary += f"; {left} still failing, left in the queue: fix the cause and run this again"
    return render.Output(data, f"{table}\n{summary}.", ok=left == 0)
