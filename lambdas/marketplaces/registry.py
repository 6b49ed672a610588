"""The marketplaces and stores the shop sells through: one ``Connector`` per folder of lambdas/marketplaces/.

Pure Python, shipped with every function: the stack builds each connector's function from it
(infra/marketplaces.py), the intake subscriber accepts only registered sources, ValidateOrder only registered
channels, PriceOrder applies each channel's own pricing rules and logistics its promised delivery days.
"""

from __future__ import annotations

import re
from typing import Any, Final, Literal, NamedTuple

from lambdas.shared import constants
from lambdas.shared.errors import InvalidOrder

Kind = Literal["marketplace", "store"]
NAME: Final = re.compile(r"[a-z][a-z0-9_]*")
# What the shop promises a web customer: delivered within this many days.
WEB_PROMISED_DAYS: Final = 5


class PricingRules(NamedTuple):
    """How a channel's total is made from our prices (PriceOrder checks its total exactly against them)."""

    # The channel sells below our list price by this much (basis points, rounded half up per unit).
    discount_basis_points: int = 0
    # The flat shipping the channel charges the buyer; None: ours (lambdas/shared/pricing.py).
    shipping_cents: int | None = None


class Connector(NamedTuple):
    name: str  # snake_case: the folder under lambdas/marketplaces/ and the source's last part
    kind: Kind
    description: str
    rules: PricingRules = PricingRules()
    promised_days: int = WEB_PROMISED_DAYS  # delivery the channel promises its buyers

    @property
    def handler(self) -> str:
        return f"lambdas.marketplaces.{self.name}.handler.handler"

    @property
    def source(self) -> str:
        return constants.MARKETPLACE_SOURCE_PREFIX + self.name

    @property
    def channel(self) -> str:
        return f"{self.kind}:{self.name}"

    def order_id(self, their_order_id: str) -> str:
        """Our order id (and execution name): one per marketplace and its order id."""
        return f"{self.name}-{their_order_id}"


REGISTRY: Final[tuple[Connector, ...]] = (
    Connector(
        name="ebuy",
        kind="marketplace",
        description="eBuy, an electronic marketplace: 5 % under our list price, its own 3.99 shipping",
        rules=PricingRules(discount_basis_points=500, shipping_cents=399),
        promised_days=3,
    ),
    Connector(
        name="city_store",
        kind="store",
        description="The city store's tills: our prices, handed over at the counter or shipped from the shop",
        rules=PricingRules(discount_basis_points=0, shipping_cents=0),
        promised_days=WEB_PROMISED_DAYS,
    ),
)


def validate(connectors: tuple[Connector, ...] = REGISTRY) -> None:
    """A registry mistake fails the synth (infra/marketplaces.py) and the unit tests."""
    names = [c.name for c in connectors]
    if len(set(names)) != len(names):
        raise ValueError(f"connector names must be unique: {names}")
    for connector in connectors:
        if not NAME.fullmatch(connector.name):
            raise ValueError(f"connector {connector.name!r}: use snake_case (it names a folder and a source)")
        if not 0 <= connector.rules.discount_basis_points < 10_000:
            raise ValueError(f"connector {connector.name!r}: discount must be 0 to 9999 basis points")
        if connector.promised_days < 0:
            raise ValueError(f"connector {connector.name!r}: promised days must not be negative")


def by_name(name: str) -> Connector | None:
    return next((c for c in REGISTRY if c.name == name), None)


def by_source(source: str) -> Connector | None:
    name = source.removeprefix(constants.MARKETPLACE_SOURCE_PREFIX)
    return by_name(name) if name != source else None


def by_channel(channel: str) -> Connector | None:
    return next((c for c in REGISTRY if c.channel == channel), None)


def promised_days(channel: str | None) -> int:
    connector = by_channel(channel or constants.CHANNEL_WEB)
    return connector.promised_days if connector else WEB_PROMISED_DAYS


def check_channel(order: dict[str, Any]) -> None:
    """``InvalidOrder`` unless the order's channel, payment and fulfilment go together.

    A web order is charged and shipped; a channel order comes from a registered connector, under an order id
    that starts with its name, was paid to the marketplace or the store (``prepaid``: we charge nothing), and
    only a store may hand goods over instead of shipping them.
    """
    channel, fulfilment = order["channel"], order["fulfilment"]
    prepaid = order["payment"]["method"] == constants.PAYMENT_METHOD_PREPAID
    if channel == constants.CHANNEL_WEB:
        if prepaid:
            raise InvalidOrder("payment.method: a web order is paid through the gateway, not prepaid")
        if fulfilment != constants.FULFILMENT_SHIPPED:
            raise InvalidOrder(f"fulfilment: a web order is shipped, got {fulfilment!r}")
        return
    connector = by_channel(channel)
    if connector is None:
        known = ", ".join([constants.CHANNEL_WEB, *(c.channel for c in REGISTRY)])
        raise InvalidOrder(f"channel: unknown channel {channel!r} (known: {known})")
    if not prepaid:
        raise InvalidOrder(f"payment.method: an order from {channel} was paid there: it must be prepaid")
    if not order["orderId"].startswith(connector.name + "-"):
        raise InvalidOrder(f"orderId: an order from {channel} is named {connector.name}-<their order id>")
    if fulfilment == constants.FULFILMENT_HANDED_OVER and connector.kind != "store":
        raise InvalidOrder(f"fulfilment: only a store hands goods over; an order from {channel} is shipped")
