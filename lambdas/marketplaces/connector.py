"""What every connector does once it has translated the marketplace's order: publish it, under its own source.

``MarketplaceOrderReceived`` data is the contract (lambdas/shared/schemas.py); a connector only translates
into it. Publishing again (the marketplace redelivers its webhook) is harmless: the intake subscriber starts
one execution per marketplace and order id.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from lambdas.marketplaces.registry import Connector, by_name
from lambdas.shared import constants
from lambdas.shared.adapters.event_bus import EventBus
from lambdas.shared.observability import lambda_handler, logger
from lambdas.shared.settings import cold_start, text


class InvalidMarketplaceOrder(ValueError):
    """The marketplace sent something we cannot translate: the message names its field."""


class Settings(NamedTuple):
    event_bus: str

    @classmethod
    def from_env(cls) -> Settings:
        return cls(text(constants.ENV_EVENT_BUS))


def publish(connector: Connector, data: dict[str, Any], bus: EventBus) -> dict[str, Any]:
    """Put MarketplaceOrderReceived on the bus under the connector's source; returns what it published."""
    order_id = connector.order_id(data["marketplaceOrderId"])
    bus.publish(constants.EVENT_MARKETPLACE_ORDER_RECEIVED, data, order_id, connector.channel, source=connector.source)
    return {"orderId": order_id, "source": connector.source, "published": True}


def required(document: Any, key: str, path: str) -> Any:
    if not isinstance(document, dict) or document.get(key) in (None, ""):
        raise InvalidMarketplaceOrder(f"{path}{key}: is required")
    return document[key]


def cents(amount: Any, path: str) -> int:
    """A decimal amount as the marketplace writes it ("23.79" or 23.79), in exact cents."""
    try:
        value = Decimal(str(amount)) * 100
    except InvalidOperation:
        raise InvalidMarketplaceOrder(f"{path}: not an amount, got {amount!r:.40}") from None
    if value != value.to_integral_value() or value <= 0:
        raise InvalidMarketplaceOrder(f"{path}: a positive amount with at most 2 decimals, got {amount!r:.40}")
    return int(value)


def make_handler(name: str, translate: Callable[[Any], dict[str, Any]], module: str, correlation_path: str) -> Any:
    """The Lambda handler of connector ``name``: translate the marketplace's order, publish it."""
    registered = by_name(name)
    if registered is None:
        raise LookupError(f"connector {name!r} is not in lambdas/marketplaces/registry.py")
    settings = cold_start(Settings.from_env, module)

    @lambda_handler(correlation_id_path=correlation_path)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        published = publish(registered, translate(event), EventBus(settings().event_bus))
        logger.info("marketplace order published", extra=published)
        return published

    return handler
