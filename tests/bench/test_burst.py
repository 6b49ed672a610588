"""A small `make burst` inside `make test`: orders at once with SES at 1/s, Lambda concurrency capped and a write
limit on each inventory partition key."""

from __future__ import annotations

import json

import pytest

from bench import burst
from sandbox.clock import IDLE_SKIP
from sandbox.queues import QUEUE_VISIBILITY

ORDERS = 10
CAP = 4


@pytest.fixture(scope="module")
def report(cdk_out):
    return burst.run(cdk_out, ORDERS, CAP)


def test_a_burst_never_oversells_and_keeps_to_the_concurrency_cap(report):
    assert report.orders == ORDERS
    assert report.oversold == 0
    assert report.lambda_peak_concurrency <= CAP
    assert report.succeeded + report.out_of_stock + report.lost == ORDERS


def test_a_burst_loses_no_order_to_throttling(report):
    # Throttled tasks were refused (the cap bit) and their Retry waited it out on the sandbox clock.
    assert report.lambda_throttled > 0
    assert report.lost == 0, report.lost_by_error
    assert report.succeeded > 0 and report.out_of_stock > 0  # half the orders are for the scarce product


def test_a_burst_dead_letters_nothing_and_sends_every_email(report):
    # The notifications buffer holds what SES throttles; the sandbox clock moves until it has drained.
    assert report.dead_letters == 0
    assert report.emails_unsent == 0
    assert report.ses_throttled + report.emails_sent > 0


def test_the_caught_up_time_is_the_time_things_took_plus_only_what_waited_on_the_clock(report):
    # The clock jumps only over time in which nothing ran and something waited on it (a back-off, a message's
    # visibility timeout): the rest is real time, the e-mails SES paces included, never a polling loop's steps.
    waited = report.skipped_seconds.get(IDLE_SKIP, 0.0) + report.skipped_seconds.get(QUEUE_VISIBILITY, 0.0)
    assert report.caught_up_seconds <= report.wall_seconds + waited + 1.0, report.skipped_seconds
    # ... and no faster than SES sends: its e-mails at 1 per second of the same clock.
    assert report.caught_up_seconds >= (report.emails_sent - 1) / report.ses_rate_per_second


def test_the_hot_products_stock_covers_half_its_orders_and_its_item_has_a_write_limit(report):
    hot_orders = (ORDERS + 1) // 2
    assert report.hot_stock == int(hot_orders * burst.HOT_STOCK_SHARE)
    assert report.out_of_stock == hot_orders - report.hot_stock
    assert report.dynamodb_write_units_per_second == burst.HOT_ITEM_WRITE_UNITS_PER_SECOND
    assert report.dynamodb_throttled >= report.dynamodb_throttled_hot_item >= 0


def test_the_report_goes_under_burst_keeping_the_rest(report, tmp_path):
    out = tmp_path / "latest.json"
    out.write_text(json.dumps({"cost_per_million_orders": {"total": 1}}))
    burst.record(report, out)
    document = json.loads(out.read_text())
    assert document["cost_per_million_orders"] == {"total": 1}
    assert document["burst"]["orders"] == ORDERS and document["burst"]["oversold"] == 0
