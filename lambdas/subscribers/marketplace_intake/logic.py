"""What a MarketplaceOrderReceived asks of the shop: the order workflow's input for it. Pure.

The order enters the same workflow as a web order, named ``<marketplace>-<their order id>`` (one execution per
marketplace and order id: a redelivery starts nothing new). Its input is built only from the event's data and
written canonically, so every redelivery gives Step Functions the same input; a marketplace that sends the same
order id with other content is refused (its event ends in the dead-letter queue, for a person).

The payment is ``prepaid`` (collected by the marketplace or the store: CollectPayment records it, charges
nothing); the total is what the buyer paid there, which PriceOrder checks against our prices within the
channel's rules; ValidateOrder checks the rest, as for any order.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from lambdas.marketplaces.registry import Connector, by_source
from lambdas.shared import constants


class InvalidEvent(ValueError):
    """The event cannot be taken as it is: the message names the field. Every retry fails alike, so the event
    reaches the dead-letter queue, where it can be read, fixed and redriven."""


class ChangedOrder(RuntimeError):
    """The marketplace sent another order under an order id the shop has taken already: nothing is changed."""


class Intake(NamedTuple):
    order_id: str
    connector: Connector
    execution_input: str


def parse(event: Any) -> Intake:
    """The order to start for this event, or ``InvalidEvent``.

    The source must be a registered connector's and the data must name that same marketplace: a connector
    (whichever account it publishes from: the bus admits it for its own source only) takes orders for itself.
    """
    if not isinstance(event, dict):
        raise InvalidEvent("event: must be an object")
    source = str(event.get("source", ""))
    connector = by_source(source)
    if connector is None:
        raise InvalidEvent(f"source: {source!r} is not a registered marketplace connector")
    detail = event.get("detail")
    data = detail.get("data") if isinstance(detail, dict) else None
    if not isinstance(data, dict):
        raise InvalidEvent("detail.data: must be an object")
    if data.get("marketplace") != connector.name:
        raise InvalidEvent(
            f"detail.data.marketplace: {data.get('marketplace')!r} published under {source}: a connector "
            "publishes its own orders only"
        )
    for field in ("marketplaceOrderId", "customer", "items", "shippingAddress", "currency", "paymentReference"):
        if data.get(field) in (None, "", []):
            raise InvalidEvent(f"detail.data.{field}: is required")
    total = data.get("totalCents")
    if isinstance(total, bool) or not isinstance(total, int) or total <= 0:
        raise InvalidEvent(f"detail.data.totalCents: a positive integer, got {total!r:.40}")
    order_id = connector.order_id(str(data["marketplaceOrderId"]))
    order = {
        "orderId": order_id,
        "customer": data["customer"],
        "items": data["items"],
        "shippingAddress": data["shippingAddress"],
        "currency": data["currency"],
        "displayedTotal": total / 100,
        "payment": {"method": constants.PAYMENT_METHOD_PREPAID, "token": str(data["paymentReference"])},
        "channel": connector.channel,
        "fulfilment": data.get("fulfilment") or constants.FULFILMENT_SHIPPED,
    }
    return Intake(order_id, connector, canonical(order))


def canonical(order: dict[str, Any]) -> str:
    """The execution input: sorted keys, no spaces (the same order is the same input, however it was sent)."""
    return json.dumps(order, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def same_input(existing: str, execution_input: str) -> bool:
    try:
        return bool(json.loads(existing) == json.loads(execution_input))
    except ValueError:
        return False
