"""sandbox/queues.py: the visibility timeout of a failed message passes on the sandbox clock only while nothing
else runs (the workflows run in real time: jumping it while they hold the account's concurrency would retry a
throttled message again and again within a second, where SQS gives the throttle minutes to clear)."""

from __future__ import annotations

from sandbox.clock import Clock
from sandbox.events import Delivery
from sandbox.queues import Held, Mapping, QueuePollers


def _pollers(clock: Clock, quiet: bool) -> QueuePollers:
    pollers = QueuePollers(clock, invoke=None, find_function=None, deliveries=[], quiet=lambda: quiet)
    mapping = Mapping(
        "uuid", "arn:fn", "arn:queue", "queue", "eu-west-1", "123456789012", 1, 2, True, 360.0, 10, None, ("r", "t")
    )
    delivery = Delivery(rule="r", target_id="t", function="arn:fn", event_id="e", detail_type="d", correlation_id=None)
    mapping.held.append(Held("m", "receipt", "{}", delivery, receives=1, visible_at=clock.now() + 360))
    pollers._mappings.append(mapping)
    return pollers


def test_a_failed_messages_visibility_timeout_is_skipped_when_the_sandbox_is_quiet() -> None:
    clock = Clock()
    _pollers(clock, quiet=True)._skip_visibility_wait()
    assert [(s.kind, round(s.seconds)) for s in clock.sleeps()] == [("queue-visibility", 360)]


def test_it_is_waited_for_while_other_functions_run() -> None:
    clock = Clock()
    _pollers(clock, quiet=False)._skip_visibility_wait()
    assert clock.sleeps() == []
