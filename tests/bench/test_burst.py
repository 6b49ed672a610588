"""A small `make burst` inside `make test`: orders at once with SES at 1/s and Lambda concurrency capped."""

from __future__ import annotations

import json

import pytest

from bench import burst

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


def test_the_report_goes_under_burst_keeping_the_rest(report, tmp_path):
    out = tmp_path / "latest.json"
    out.write_text(json.dumps({"cost_per_million_orders": {"total": 1}}))
    burst.record(report, out)
    document = json.loads(out.read_text())
    assert document["cost_per_million_orders"] == {"total": 1}
    assert document["burst"]["orders"] == ORDERS and document["burst"]["oversold"] == 0
