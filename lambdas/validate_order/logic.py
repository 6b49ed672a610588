"""ValidateOrder's domain: the order's shape, then its SKUs against the catalog."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lambdas.shared.order import CatalogItem, check_catalog, parse_order

CatalogLookup = Callable[[Iterable[str]], Mapping[str, CatalogItem]]


def validate(raw: Any, currency: str, lookup: CatalogLookup) -> dict[str, Any]:
    """The normalised order, or ``InvalidOrder`` naming the field.

    The shape is checked first, so the catalog is only asked about well-formed SKUs.
    """
    order = parse_order(raw, currency)
    check_catalog(order["items"], lookup(line["sku"] for line in order["items"]))
    return order
