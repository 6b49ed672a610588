"""`orderctl trace`: one order's timeline across the workflow and every subscriber (issue 13)."""

from __future__ import annotations

import json

from tests.orderctl.conftest import Orderctl, OrderIds
from tests.orderctl.support import settle

COMPLETED_SUBSCRIBERS = {"inventory", "analytics", "audit", "notifications"}


def test_trace_shows_the_states_the_event_and_what_each_subscriber_did(orderctl: Orderctl, new_id: OrderIds) -> None:
    order_id = new_id("trace")
    orderctl.ok("start", "--example", "happy", "--order-id", order_id)
    settle(orderctl, order_id)

    view = json.loads(orderctl.ok("trace", order_id, "--json").out)
    timeline = view["timeline"]
    assert view["status"] == "SUCCEEDED"
    assert [e["at"] for e in timeline] == sorted(e["at"] for e in timeline)  # in time order
    states = [e["state"] for e in timeline if e.get("state")]
    assert states[:2] == ["ValidateOrder", "ReserveStock"] and "PublishOrderCompleted" in states
    applied = {e["subscriber"] for e in timeline if e.get("subscriber") and e["outcome"] == "applied"}
    assert applied >= COMPLETED_SUBSCRIBERS, timeline

    text = orderctl.ok("trace", order_id).out
    assert f"Order {order_id} (web): SUCCEEDED" in text and "notifications" in text


def test_trace_of_an_unknown_order_says_so(orderctl: Orderctl) -> None:
    unknown = orderctl("trace", "ord-never-started")
    assert unknown.code == 1 and "no order 'ord-never-started'" in unknown.err
