"""EventBridge: Lambda targets are delivered (by the sandbox's delivery engine, sandbox/events.py), DISABLED
rules are skipped, a replay reaches only the chosen rules with the events of its time window, an event's
time is the sandbox's clock, and TestEventPattern answers."""

from __future__ import annotations

from typing import Any, cast

from sandbox.moto_fixes.base import hooks, original, register, sandbox_now


def _send_to_targets(self: Any, original_event: dict[str, Any], transform_input: bool = True) -> None:
    moto_send = original("events-lambda-targets")
    if hooks.send_to_lambda_targets is None:
        moto_send(self, original_event, transform_input)
        return

    def moto_targets(rule: Any, event: dict[str, Any]) -> None:
        moto_send(rule, event, transform_input)

    hooks.send_to_lambda_targets(self, original_event, moto_targets)


register(
    "events-lambda-targets",
    "PutEvents raises NotImplementedError when a matching rule targets a Lambda function, and delivers "
    "to rules whose State is DISABLED.",
    {("moto.events.models:Rule", "send_to_targets"): _send_to_targets},
)


def _unix_time(moment: Any = None) -> float:
    return sandbox_now() if moment is None else float(original("events-clock-time")(moment))


register(
    "events-clock-time",
    "PutEvents stamps an event's time (and an archive's, a rule's creation) with the wall clock, while the "
    "workflow and the functions run on the sandbox's clock: after an advance, an event sorted days before "
    "the state that published it, and a replay window on the sandbox's clock missed it.",
    {("moto.events.models", "unix_time"): _unix_time},
)


def _epoch(value: Any) -> float:
    """A StartReplay time (epoch seconds over the JSON protocol, or a datetime) as epoch seconds."""
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    return float(value)


def _replay_events(self: Any, archive: Any) -> None:
    from moto.core.utils import unix_time
    from moto.events.models import ReplayState, events_backends
    from moto.moto_api._internal import mock_random

    backend = events_backends[self.account_id][self.region]
    bus = backend.describe_event_bus(self.destination["Arn"].split("/")[-1])
    # "FilterArns: A list of ARNs for rules to replay events to." (EventBridge API, ReplayDestination)
    filter_arns = set(self.destination.get("FilterArns") or [])
    rules = [rule for rule in bus.rules.values() if not filter_arns or rule.arn in filter_arns]
    # "Only events that occurred between the EventStartTime and EventEndTime are replayed." (StartReplay)
    start, end = _epoch(self.event_start_time), _epoch(self.event_end_time)
    for event in list(archive.events):
        if not start <= float(event.get("time", 0)) <= end:
            continue
        for rule in rules:
            replayed = dict(event, **{"id": str(mock_random.uuid4()), "replay-name": self.name})
            rule.send_to_targets(cast(Any, replayed), transform_input=False)  # moto types events as a TypedDict
    self.state = ReplayState.COMPLETED
    self.end_time = unix_time()


register(
    "events-replay-filter",
    "StartReplay replays every archived event to every rule on the bus: Destination.FilterArns (replay to "
    "chosen rules only) and the EventStartTime/EventEndTime window are ignored, so a replay 'to analytics' "
    "reached every subscriber, with events from outside the window too.",
    {("moto.events.models:Replay", "replay_events"): _replay_events},
)


register(
    "events-target-account",
    'An event delivered to an SQS target (through moto\'s default input template) has no "account": '
    "subscribers behind a queue refused every event as another account's.",
    {
        ("moto.events.utils:EventTemplateParser", "DEFAULT_EVENT_INPUT_TEMPLATE"): (
            '{"id": "<id>", "time": <time>, "version": "0", "detail-type": "<detail-type>", "source": "<source>", '
            '"account": "<account>", "region": "<region>", "resources": <resources>, "detail": <detail>}'
        )
    },
)


# "Event: The event, in JSON format, to test against the event pattern. The JSON must follow the format
# specified in AWS Events, and the following fields are mandatory: id, account, source, time, region,
# resources, detail-type." (EventBridge API, TestEventPattern)
_EVENT_FIELDS = ("id", "account", "source", "time", "region", "resources", "detail-type")


def _test_event_pattern(self: Any) -> str:
    import json

    from moto.core.exceptions import JsonRESTError
    from moto.events.models import EventPattern

    try:
        event = json.loads(self._get_param("Event"))
    except (TypeError, ValueError):
        event = None
    if not isinstance(event, dict) or any(name not in event for name in _EVENT_FIELDS):
        raise JsonRESTError("ValidationException", "Parameter Event is not valid.")
    matches = EventPattern.load(self._get_param("EventPattern")).matches_event(cast(Any, event))  # a TypedDict in moto
    return json.dumps({"Result": matches})


register(
    "events-test-event-pattern",
    "TestEventPattern answers an empty body (the action is a stub): no Result, so whether an event "
    "matches a rule's pattern cannot be asked.",
    {("moto.events.responses:EventsHandler", "test_event_pattern"): _test_event_pattern},
)
