"""The timeline's part of the shared subscriber entry point: a subscriber's handler, wrapped, records
``received`` when a delivery starts and ``applied`` / ``ignored as a duplicate`` when it returns, or
``failed, will be retried`` / ``failed, dead-lettered`` (its last attempt) when it raises (re-raised).

    @recorded("analytics")             # inside lambda_handler(...) and the entry point's trust check
    def handler(event, context): ...   # calls note_applied(applied) once it knows (count_delivery does)

Recording never changes a delivery's outcome: a failed write is logged and the delivery goes on (a
subscriber that raised because of its timeline would run again and apply twice). Without the table's
name in the environment (a function the stack did not give a timeline) it records nothing.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from lambdas.shared.adapters.aws_clients import table
from lambdas.shared.clock import now_iso
from lambdas.shared.observability import logger
from lambdas.timeline import logic, store

Handler = Callable[[Any, Any], Any]

# What the handler said about this delivery (None: it did not say; counted as applied).
_applied: ContextVar[bool | None] = ContextVar("timeline_applied", default=None)


def note_applied(applied: bool) -> None:
    """Called by the subscriber (through count_delivery) once it knows: applied, or a redelivery absorbed."""
    _applied.set(applied)


def recorded(subscriber: str) -> Callable[[Handler], Handler]:
    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def wrapped(event: Any, context: Any) -> Any:
            request_id = str(getattr(context, "aws_request_id", "") or "")
            _record(event, subscriber, logic.RECEIVED, request_id)
            token = _applied.set(None)
            try:
                result = handler(event, context)
            except Exception as error:
                _record_failure(event, subscriber, request_id, f"{type(error).__name__}: {error}")
                raise
            else:
                applied = _applied.get()
                _record(event, subscriber, logic.DUPLICATE if applied is False else logic.APPLIED, request_id)
                return result
            finally:
                _applied.reset(token)

        return wrapped

    return decorate


def _table() -> Any | None:
    name = os.environ.get(store.ENV_TIMELINE_TABLE, "").strip()
    return table(name) if name else None


def _record(event: Any, subscriber: str, outcome: str, request_id: str, error: str | None = None) -> None:
    dynamo_table = _table()
    if dynamo_table is None or not isinstance(event, dict) or logic.order_of(event) is None:
        return
    at = now_iso()
    try:
        store.put(dynamo_table, logic.delivery_record(event, subscriber, outcome, at, request_id, error))
    except Exception:  # the timeline must never fail a delivery
        logger.warning("could not record the delivery on the order's timeline", exc_info=True)


def _record_failure(event: Any, subscriber: str, request_id: str, error: str) -> None:
    dynamo_table = _table()
    order_id = logic.order_of(event) if isinstance(event, dict) else None
    if dynamo_table is None or order_id is None:
        return
    at = now_iso()
    try:
        failures = store.count_failure(dynamo_table, order_id, subscriber, str(event.get("id", "")), logic.expiry(at))
    except Exception:  # counted as an ordinary failure
        logger.warning("could not count the failed delivery on the order's timeline", exc_info=True)
        failures = 0
    _record(event, subscriber, logic.failure_outcome(failures), request_id, error)
