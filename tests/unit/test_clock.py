"""The functions' one clock (lambdas/shared/clock.py): the wall clock unless a source is set, as the sandbox does."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from lambdas.shared import clock
from lambdas.shared.events import envelope, marker_expiry

LATER = datetime(2030, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)


def test_the_wall_clock_by_default() -> None:
    before = time.time()
    now = clock.utc_now()
    assert now.tzinfo is UTC
    assert before <= now.timestamp() <= time.time()
    assert before <= clock.epoch_seconds() <= time.time()


def test_a_source_is_read_in_its_block_and_the_previous_one_after() -> None:
    with clock.source(lambda: LATER.timestamp()):
        assert clock.utc_now() == LATER
        assert clock.epoch_seconds() == LATER.timestamp()
        with clock.source(lambda: 0.0):
            assert clock.utc_now() == datetime(1970, 1, 1, tzinfo=UTC)
        assert clock.utc_now() == LATER
    assert abs(clock.epoch_seconds() - time.time()) < 5


def test_the_source_is_restored_when_the_block_fails() -> None:
    with pytest.raises(RuntimeError), clock.source(lambda: 0.0):
        raise RuntimeError("boom")
    assert abs(clock.epoch_seconds() - time.time()) < 5


def test_what_the_functions_stamp_follows_the_source() -> None:
    """The event envelope's occurredAt and a marker's expiry: times the handlers store, on the one clock."""
    with clock.source(lambda: LATER.timestamp()):
        assert envelope({}, "order-1", "test")["metadata"]["occurredAt"] == "2030-01-02T03:04:05.678Z"
        old_event = {"metadata": {"occurredAt": "2020-01-01T00:00:00Z"}}
        assert marker_expiry(old_event, ttl_days=1) == int(LATER.timestamp()) + 86_400
