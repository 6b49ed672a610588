"""Choreography: one package per subscriber of the order bus (registered in infra/subscribers.py).

Each is ``handler.py`` (thin Powertools handler) + ``logic.py`` (pure domain logic) + ``store.py`` (its
own table, the only AWS it calls besides the shared order tables). Every subscriber is idempotent on a
business key, because EventBridge delivers at least once and archive replays deliver again.
"""

from collections.abc import Callable

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.shared.observability import Handler, lambda_handler, metrics
from lambdas.timeline.recorder import note_applied, recorded

# Every event on the bus carries its order as the envelope's correlation id.
CORRELATION_ID_PATH = "detail.metadata.correlationId"
ENTRY_POINT_MARK = "subscriber_entry_point"


def subscriber(name: str) -> Callable[[Handler], Handler]:
    """The shared entry point of every subscriber's handler: Powertools (logs correlated by order, a
    trace, metrics) and the order's timeline (received, then applied / ignored as a duplicate / failed).

        @subscriber("analytics")
        def handler(event, context): ...   # calls count_delivery("analytics", applied) once it knows
    """

    def decorate(handler: Handler) -> Handler:
        wrapped = recorded(name)(lambda_handler(correlation_id_path=CORRELATION_ID_PATH)(handler))
        setattr(wrapped, ENTRY_POINT_MARK, name)  # what tests check: every registered subscriber has it
        return wrapped

    return decorate


def count_delivery(subscriber: str, applied: bool) -> None:
    """One metric per delivery: applied, or absorbed as a redelivery/replay (alarms can watch both); the
    timeline records the same."""
    metrics.add_dimension(name="subscriber", value=subscriber)
    metrics.add_metric(name="EventsApplied" if applied else "EventsDeduplicated", unit=MetricUnit.Count, value=1)
    note_applied(applied)
