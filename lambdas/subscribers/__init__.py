"""Choreography: one package per subscriber of the order bus (registered in infra/subscribers.py).

Each is ``handler.py`` (thin Powertools handler) + ``logic.py`` (pure domain logic) + ``store.py`` (its
own table, the only AWS it calls besides the shared order tables). Every subscriber is idempotent on a
business key, because EventBridge delivers at least once and archive replays deliver again.
"""

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.shared.observability import metrics


def count_delivery(subscriber: str, applied: bool) -> None:
    """One metric per delivery: applied, or absorbed as a redelivery/replay (alarms can watch both)."""
    metrics.add_dimension(name="subscriber", value=subscriber)
    metrics.add_metric(name="EventsApplied" if applied else "EventsDeduplicated", unit=MetricUnit.Count, value=1)
