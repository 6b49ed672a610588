"""The functions' one clock: every handler and adapter under lambdas/ asks it for the time.

In AWS it is the wall clock. The sandbox runs the functions next to a virtual clock (Step Functions'
task timeouts wait on it, and advancing it is how a 72-hour payment review times out in a test): while a
sandbox runs it points ``source`` at that clock, so a deadline a function stores (a review's
``reviewDeadline``) is the moment the sandbox really times it out. Domain logic stays pure: handlers
read the clock and pass ``now`` in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_source: Callable[[], float] = time.time


def epoch_seconds() -> float:
    """Seconds since the epoch."""
    return _source()


def utc_now() -> datetime:
    """Now, as an aware datetime in UTC."""
    return datetime.fromtimestamp(_source(), UTC)


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with a Z, to the millisecond: the one format of every time the functions write (the event
    envelope's occurredAt, the payments' and timeline's records)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    """Now, in that format."""
    return iso(utc_now())


@contextmanager
def source(now: Callable[[], float]) -> Iterator[None]:
    """Read the time from ``now`` (epoch seconds) for the block; the previous source afterwards."""
    global _source
    saved, _source = _source, now
    try:
        yield
    finally:
        _source = saved
