"""PriceOrder's domain: quote the order from the catalog and check the displayed total."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lambdas.marketplaces.registry import by_channel
from lambdas.shared.pricing import Pricing, quote, verify_displayed_total
from lambdas.shared.stock import CatalogItem


def price(order: Mapping[str, Any], catalog: Mapping[str, CatalogItem], pricing: Pricing) -> dict[str, Any]:
    """The priced order, or ``PriceMismatch`` when it differs from the order's displayedTotalCents.

    A marketplace's or store's total (what its buyer paid there) is checked against our prices within that
    channel's own discount and shipping rules; a web order's against our prices.
    """
    connector = by_channel(order.get("channel", ""))
    rules = connector.rules if connector else None
    priced = quote(
        order["items"],
        order["shippingAddress"]["country"],
        catalog,
        pricing,
        discount_basis_points=rules.discount_basis_points if rules else 0,
        shipping_cents=rules.shipping_cents if rules else None,
    )
    verify_displayed_total(priced, order["displayedTotalCents"])
    return priced
