"""Analytics: sales per day x SKU x site variant, counted once per order, and the variant comparison."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import Any

import pytest

from lambdas.shared.events import marker_expiry
from lambdas.subscribers.analytics import handler as analytics_handler
from lambdas.subscribers.analytics import store
from lambdas.subscribers.analytics.logic import compare_variants, order_counters
from tests.contract.samples import line, order_completed
from tests.unit.subscribers.conftest import MARKER_TTL_DAYS, all_items, deliver, deliver_async, fail_once


def counters(table: Any) -> dict[tuple[str, str], dict[str, int]]:
    return {
        (i["pk"], i["sk"]): {k: int(i[k]) for k in ("orders", "units", "revenueCents")}
        for i in all_items(table)
        if i["pk"].startswith("DAY#")
    }


def test_an_order_counts_per_day_sku_and_variant(subscriber_table: Any) -> None:
    event = order_completed("o-1", [line("MUG", 2, 1000), line("TEE", 1, 2500)], site_variant="checkout-v2")
    assert deliver(analytics_handler.handler, event) == {"orderId": "o-1", "counted": True}
    assert counters(subscriber_table) == {
        ("DAY#2026-11-20", "VARIANT#checkout-v2#SKU#MUG"): {"orders": 1, "units": 2, "revenueCents": 2000},
        ("DAY#2026-11-20", "VARIANT#checkout-v2#SKU#TEE"): {"orders": 1, "units": 1, "revenueCents": 2500},
        ("DAY#2026-11-20", "VARIANT#checkout-v2#ALL"): {"orders": 1, "units": 3, "revenueCents": 4500},
        ("DAY#2026-11-20", "CHANNEL#web"): {"orders": 1, "units": 3, "revenueCents": 4500},
    }


def channel_order(order_id: str, channel: str | None, price: int) -> dict[str, Any]:
    event = order_completed(order_id, [line("MUG", 1, price)])
    data = event["detail"]["data"]
    data.pop("channel")
    if channel:
        data["channel"] = channel
    return event


def test_sales_are_reported_per_channel(subscriber_table: Any) -> None:
    deliveries = [("w-1", "web", 1000), ("m-1", "marketplace:ebuy", 900), ("m-2", "marketplace:ebuy", 900)]
    deliveries += [("s-1", "store:city_store", 1000), ("old", None, 500)]  # an event from before channels: web
    for order_id, channel, price in deliveries:
        deliver(analytics_handler.handler, channel_order(order_id, channel, price))
    deliver(analytics_handler.handler, channel_order("m-1", "marketplace:ebuy", 900))  # redelivered: counted once
    report = store.sales_report(subscriber_table, date(2026, 11, 20), date(2026, 11, 20))
    assert [(c.channel, c.orders, c.units, c.revenue_cents) for c in report.channels] == [
        ("web", 2, 2, 1500),
        ("marketplace:ebuy", 2, 2, 1800),
        ("store:city_store", 1, 1, 1000),
    ]
    (variant,) = report.variants  # the channel counters do not leak into the variants
    assert variant.orders == 5


def test_duplicate_delivery_and_replay_count_once(subscriber_table: Any) -> None:
    event = order_completed("o-1", [line("MUG", 2)])
    deliver(analytics_handler.handler, event)
    assert deliver(analytics_handler.handler, event)["counted"] is False
    replay = {**order_completed("o-1", [line("MUG", 2)]), "replay-name": "backfill"}  # a new event id
    assert replay["id"] != event["id"]
    assert deliver(analytics_handler.handler, replay)["counted"] is False
    assert counters(subscriber_table)[("DAY#2026-11-20", "VARIANT#checkout-v2#ALL")]["orders"] == 1


def test_orders_add_up_and_the_marker_expires_after_the_replay_window(subscriber_table: Any) -> None:
    for i in range(3):
        deliver(analytics_handler.handler, order_completed(f"o-{i}", [line("MUG", 1)], site_variant="control"))
    assert counters(subscriber_table)[("DAY#2026-11-20", "VARIANT#control#SKU#MUG")] == {
        "orders": 3,
        "units": 3,
        "revenueCents": 3000,
    }
    marker = next(i for i in all_items(subscriber_table) if i["pk"] == "ORDER#o-0")
    assert int(marker["expiresAt"]) >= marker_expiry(order_completed()["detail"], MARKER_TTL_DAYS, HAPPENED)


# The samples' events happened on 2026-11-20
HAPPENED = datetime(2026, 11, 20, tzinfo=UTC)


def test_an_event_that_claims_an_old_time_gets_a_marker_that_outlives_the_replay_window(subscriber_table: Any) -> None:
    """Issue 11: an OrderCompleted published with occurredAt 2000-01-01 got a marker expired 26 years ago,
    which DynamoDB's TTL deletes within days, so a replay of it counted the order again."""
    event = order_completed("o-old", [line("MUG", 1)])
    event["detail"]["metadata"]["occurredAt"] = "2000-01-01T00:00:00Z"
    before = int(time.time())
    assert deliver(analytics_handler.handler, event)["counted"] is True
    marker = next(i for i in all_items(subscriber_table) if i["pk"] == "ORDER#o-old")
    assert int(marker["expiresAt"]) >= before + MARKER_TTL_DAYS * 86_400
    assert deliver(analytics_handler.handler, event)["counted"] is False  # the replay finds it


def test_a_marker_counts_from_the_event_time_when_that_is_later() -> None:
    later = datetime(2030, 1, 1, tzinfo=UTC)
    detail = {"metadata": {"occurredAt": "2030-01-01T00:00:00Z"}}
    assert marker_expiry(detail, 1, now=HAPPENED) == int(later.timestamp()) + 86_400
    assert marker_expiry(detail, 1, now=datetime(2031, 1, 1, tzinfo=UTC)) > int(later.timestamp()) + 86_400


def test_a_sku_on_two_lines_is_one_order_for_that_sku() -> None:
    data = order_completed("o-1", [line("MUG", 1, 1000), line("MUG", 2, 900)])["detail"]["data"]
    assert order_counters(data, "2026-11-20")[("DAY#2026-11-20", "VARIANT#checkout-v2#SKU#MUG")] == {
        "orders": 1,
        "units": 3,
        "revenueCents": 2800,
    }


def test_the_report_compares_variants_against_control(subscriber_table: Any) -> None:
    orders = [
        ("c-1", "control", "2026-11-19", 1000),
        ("c-2", "control", "2026-11-20", 1000),
        ("v-1", "checkout-v2", "2026-11-19", 1500),
        ("v-2", "checkout-v2", "2026-11-20", 1500),
        ("v-3", "checkout-v2", "2026-11-20", 1500),
        ("x-1", "checkout-v2", "2026-11-25", 9999),  # outside the range
    ]
    for order_id, variant, day, price in orders:
        event = order_completed(order_id, [line("MUG", 1, price)], site_variant=variant, occurred_at=f"{day}T12:00:00Z")
        deliver(analytics_handler.handler, event)

    first, last = date(2026, 11, 19), date(2026, 11, 20)
    report = store.sales_report(subscriber_table, first, last)
    assert report.currency == "EUR"
    control, v2 = report.variants
    assert (control.variant, control.orders, control.revenue_cents) == ("control", 2, 2000)
    assert control.orders_lift_pct is None
    assert (v2.variant, v2.orders, v2.revenue_cents) == ("checkout-v2", 3, 4500)
    assert v2.orders_lift_pct == 50.0
    assert v2.revenue_lift_pct == 125.0
    assert v2.avg_order_value_cents == 1500

    # v2 got three times the traffic: per visitor it sells half as many orders.
    _, v2 = store.sales_report(
        subscriber_table, first, last, traffic_split={"control": 0.25, "checkout-v2": 0.75}
    ).variants
    assert v2.orders_lift_pct == -50.0

    _, mug_v2 = store.sales_report(subscriber_table, first, last, sku="MUG").variants
    assert mug_v2.orders_lift_pct == 50.0


def test_compare_variants_without_a_baseline_reports_no_lift() -> None:
    rows = [{"sk": "VARIANT#b#ALL", "orders": 2, "units": 2, "revenueCents": 10}]
    (stats,) = compare_variants(rows, baseline="control")
    assert (stats.variant, stats.orders, stats.orders_lift_pct) == ("b", 2, None)


def test_a_run_that_fails_after_its_counters_landed_is_retried_without_counting_again(
    subscriber_table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_once(monkeypatch, analytics_handler, "count_delivery")  # after the marker + counters transaction
    outcome = deliver_async(analytics_handler.handler, order_completed("o-1", [line("MUG", 2, 1000)]))
    assert outcome.error_names == ["Crash"] and outcome.result == {"orderId": "o-1", "counted": False}
    assert counters(subscriber_table)[("DAY#2026-11-20", "VARIANT#checkout-v2#ALL")]["orders"] == 1


def test_a_run_that_fails_before_its_counters_landed_is_retried_to_one_count(
    subscriber_table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_once(monkeypatch, store, "add_once")
    outcome = deliver_async(analytics_handler.handler, order_completed("o-1", [line("MUG", 2, 1000)]))
    assert outcome.error_names == ["Crash"] and outcome.result == {"orderId": "o-1", "counted": True}
    assert counters(subscriber_table)[("DAY#2026-11-20", "VARIANT#checkout-v2#ALL")]["orders"] == 1


def test_variants_are_compared_per_order_and_small_samples_say_so() -> None:
    from lambdas.subscribers.analytics.logic import MIN_ORDERS_TO_COMPARE, compare_variants

    def row(variant: str, orders: int, revenue: int) -> dict[str, object]:
        return {"sk": f"VARIANT#{variant}#ALL", "orders": orders, "units": orders, "revenueCents": revenue}

    # 3 control orders of 10.00 against 6 checkout-v2 orders of 10.00: twice the revenue, the same order value.
    control, v2 = compare_variants([row("control", 3, 3000), row("checkout-v2", 6, 6000)])
    assert v2.revenue_lift_pct == 100.0 and v2.avg_order_value_lift_pct == 0.0
    assert v2.too_small_to_compare(control)
    big = MIN_ORDERS_TO_COMPARE
    control, v2 = compare_variants([row("control", big, big * 1000), row("checkout-v2", big, big * 1100)])
    assert v2.avg_order_value_lift_pct == 10.0 and not v2.too_small_to_compare(control)
