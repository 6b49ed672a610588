"""PriceOrder's domain: quote the order from the catalog and check the displayed total."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lambdas.shared.order import CatalogItem
from lambdas.shared.pricing import Pricing, quote, verify_displayed_total


def price(order: Mapping[str, Any], catalog: Mapping[str, CatalogItem], pricing: Pricing) -> dict[str, Any]:
    """The priced order, or ``PriceMismatch`` when it differs from the order's displayedTotalCents."""
    priced = quote(order["items"], order["shippingAddress"]["country"], catalog, pricing)
    verify_displayed_total(priced, order["displayedTotalCents"])
    return priced
