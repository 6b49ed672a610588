"""`orderctl trace`: one order's timeline across the workflow and every subscriber (issue 13)."""

from __future__ import annotations

import json
from datetime import datetime

from sandbox.account import Sandbox
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


def test_after_an_advance_the_workflow_the_bus_and_the_subscribers_stay_on_one_clock(
    orderctl: Orderctl, server: Sandbox, new_id: OrderIds
) -> None:
    """Step Functions' history, the events' times and the subscribers' records all read the sandbox's clock: after
    `POST /_sandbox/clock/advance` none sorts days before or after the others."""
    server.clock.advance(3 * 86_400)
    before = server.clock.now()
    order_id = new_id("trace")
    orderctl.ok("start", "--example", "happy", "--order-id", order_id)
    settle(orderctl, order_id)
    timeline = json.loads(orderctl.ok("trace", order_id, "--json").out)["timeline"]
    after = server.clock.now()

    assert {e["source"] for e in timeline} == {"workflow", "bus", "subscriber"}
    moments = [datetime.fromisoformat(e["at"].replace("Z", "+00:00")).timestamp() for e in timeline]
    assert all(before - 1 <= moment <= after for moment in moments), timeline  # events: to the second
    published = {e["eventId"]: e["at"] for e in timeline if e["source"] == "bus"}
    assert all(e["at"] >= published[e["eventId"]] for e in timeline if e["source"] == "subscriber"), timeline


def test_trace_of_an_unknown_order_says_so(orderctl: Orderctl) -> None:
    unknown = orderctl("trace", "ord-never-started")
    assert unknown.code == 1 and "no order 'ord-never-started'" in unknown.err
