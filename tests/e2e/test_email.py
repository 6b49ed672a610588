"""E-mail through the deployed wiring with SES as a real account meets it (sandbox/ses.py): a burst above SES's
sending rate is absorbed by the notifications queue (issue 16), and SES sandbox mode's refusal of an unverified
recipient is recorded as not sent, never dead-lettered (issue 14)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from lambdas.shared import constants
from lambdas.shared.events import envelope, put_events_entry
from lambdas.subscribers.notifications import store as notifications
from sandbox import observe, ses
from sandbox.account import Sandbox
from tests.contract import samples
from tests.sales import record_sale

pytestmark = pytest.mark.e2e


def _publish_orders(sandbox: Sandbox, count: int, verified: bool = False, shipped: bool = True) -> list[str]:
    """`count` OrderCompleted events put on the bus at once (a flash sale's confirmations); a shipped one also
    gets its tracking e-mail (logistics' ShipmentAssigned), a handed-over one the confirmation only."""
    batch = uuid.uuid4().hex[:8]
    order_ids = [f"mail-{batch}-{n}" for n in range(count)]
    entries = []
    for order_id in order_ids:
        address = f"{order_id}@example.com"
        record_sale(sandbox, order_id)  # as RecordAccounting does before the workflow publishes OrderCompleted
        if verified:
            sandbox.client("ses").verify_email_identity(EmailAddress=address)
        data = samples.order_completed(order_id, email=address)["detail"]["data"]
        if not shipped:
            data["fulfilment"] = constants.FULFILMENT_HANDED_OVER
        detail = envelope(data, order_id, "e2e-test", "2026-11-20T10:15:30.123Z")
        entries.append(put_events_entry(sandbox.outputs["EventBusName"], constants.EVENT_ORDER_COMPLETED, detail))
    events = sandbox.client("events")
    for start in range(0, len(entries), 10):  # PutEvents takes 10 entries per call
        assert events.put_events(Entries=entries[start : start + 10])["FailedEntryCount"] == 0
    return order_ids


def _claims(sandbox: Sandbox, order_ids: list[str]) -> dict[str, dict[str, Any]]:
    table = sandbox.resource("dynamodb").Table(sandbox.outputs["NotificationsSubscriberTableName"])
    found = {}
    for order_id in order_ids:
        item = table.get_item(Key={"pk": f"ORDER#{order_id}", "sk": "CONFIRMATION"}, ConsistentRead=True).get("Item")
        found[order_id] = item or {}
    return found


def _notifications_deliveries(sandbox: Sandbox, order_ids: list[str]) -> list[Any]:
    assert sandbox.targets is not None
    return [d for d in sandbox.targets.deliveries if d.correlation_id in order_ids and "Notifications" in d.rule]


def test_a_burst_above_ses_sending_rate_waits_in_the_queue_and_every_email_is_sent(sandbox: Sandbox) -> None:
    dead_letters = observe.dead_letters(sandbox)["Notifications"]  # other tests' of this package
    with ses.modelled(sandbox.clock, ses.SesLimits(send_rate_per_second=4)) as model:
        order_ids = _publish_orders(sandbox, 16)
        assert sandbox.drain(120)
    assert model.throttled >= 1, "the burst reached SES's sending rate"
    assert model.sent == 2 * 16  # each order's confirmation, and its tracking e-mail (logistics' ShipmentAssigned)
    assert {claim.get("status") for claim in _claims(sandbox, order_ids).values()} == {notifications.SENT}
    deliveries = _notifications_deliveries(sandbox, order_ids)
    assert len(deliveries) == 2 * 16 and {d.outcome for d in deliveries} == {"SUCCEEDED"}
    assert observe.dead_letters(sandbox)["Notifications"] == dead_letters


def test_ses_sandbox_mode_refusing_a_recipient_is_recorded_not_sent_and_not_dead_lettered(sandbox: Sandbox) -> None:
    dead_letters = observe.dead_letters(sandbox)["Notifications"]  # other tests' of this package
    with ses.modelled(sandbox.clock, ses.SesLimits(verify_recipients=True)) as model:
        # Not shipped: no parcel, no tracking e-mail (other tests of this package check every shipped order's).
        (refused,) = _publish_orders(sandbox, 1, shipped=False)
        (accepted,) = _publish_orders(sandbox, 1, verified=True, shipped=False)
        assert sandbox.drain(60)
    claims = _claims(sandbox, [refused, accepted])
    assert claims[accepted]["status"] == notifications.SENT
    assert claims[refused]["status"] == notifications.NOT_SENT
    assert claims[refused]["reason"].startswith("MessageRejected: Email address is not verified")
    assert f"{refused}@example.com" not in claims[refused]["reason"]  # the reason is kept, the address is not
    assert model.sent == 1 and len(model.rejected) == 1  # asked once: no retry
    (delivery,) = [d for d in _notifications_deliveries(sandbox, [refused]) if d.detail_type == "OrderCompleted"]
    assert (delivery.outcome, delivery.attempts) == ("SUCCEEDED", 1)
    assert observe.dead_letters(sandbox)["Notifications"] == dead_letters
