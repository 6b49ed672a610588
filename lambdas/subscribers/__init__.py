"""Choreography: one package per subscriber of the order bus (registered in infra/subscribers.py).

Each is ``handler.py`` (thin Powertools handler) + ``logic.py`` (pure domain logic) + ``store.py`` (its
own table, the only AWS it calls besides the shared order tables). Every subscriber is idempotent on a
business key, because EventBridge delivers at least once and archive replays deliver again.
"""

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.shared import constants
from lambdas.shared.observability import Handler, lambda_handler, logger, metrics
from lambdas.subscribers import trust
from lambdas.timeline.recorder import note_applied, recorded

# Every event on the bus carries its order as the envelope's correlation id.
CORRELATION_ID_PATH = "detail.metadata.correlationId"
ENTRY_POINT_MARK = "subscriber_entry_point"


def subscriber(name: str) -> Callable[[Handler], Handler]:
    """The shared entry point of every subscriber's handler: Powertools (logs correlated by order, a
    trace, metrics), only the shop speaks for the shop (an event from an unexpected source or account, or an
    OrderCompleted of an order never sold, is refused: `trusted`), and the order's timeline (received, then
    applied / ignored as a duplicate / failed).

        @subscriber("analytics")
        def handler(event, context): ...   # calls count_delivery("analytics", applied) once it knows
    """

    def decorate(handler: Handler) -> Handler:
        # A refused event reaches neither the handler nor the order's timeline (a forged order id gets none).
        wrapped = lambda_handler(correlation_id_path=CORRELATION_ID_PATH)(trusted(name)(recorded(name)(handler)))
        setattr(wrapped, ENTRY_POINT_MARK, name)  # what tests check: every registered subscriber has it
        return wrapped

    return decorate


def trusted(name: str) -> Callable[[Handler], Handler]:
    """Refuse what the shop did not say (lambdas/subscribers/trust.py): logged without the event's data,
    counted (``EventsRefused``, by subscriber and reason), and answered normally, not raised. Raising would
    have Lambda and EventBridge retry it for up to six hours and then keep the whole event, personal data
    included, in the dead-letter queue for 14 days, for an operator to redrive into the same refusal: a forged
    event is not a failure to retry but an attempt to record, and the log line and the metric record it."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def wrapped(event: dict[str, Any], context: Any) -> Any:
            reason = trust.refusal(event, trust.account_of(context), trust.expected_sources(), trust.partner_accounts())
            if reason is None and (order_id := trust.claims_a_sale(event)) is not None:
                reason = None if trust.sale_recorded(order_id) else trust.UNKNOWN_ORDER
            if reason is None:
                return handler(event, context)
            metrics.add_dimension(name="subscriber", value=name)
            metrics.add_dimension(name="reason", value=reason)
            metrics.add_metric(name=constants.METRIC_EVENTS_REFUSED, unit=MetricUnit.Count, value=1)
            # Who claimed to speak, never what they said (the detail holds e-mails and addresses).
            logger.warning(
                "event refused: not the shop's",
                extra={
                    "reason": reason,
                    "eventId": event.get("id"),
                    "source": event.get("source"),
                    "account": event.get("account"),
                    "detailType": event.get("detail-type"),
                },
            )
            return {"refused": reason}

        return wrapped

    return decorate


def count_delivery(subscriber: str, applied: bool) -> None:
    """One metric per delivery: applied, or absorbed as a redelivery/replay (alarms can watch both); the
    timeline records the same."""
    metrics.add_dimension(name="subscriber", value=subscriber)
    metrics.add_metric(name="EventsApplied" if applied else "EventsDeduplicated", unit=MetricUnit.Count, value=1)
    note_applied(applied)
