"""Order pricing in integer cents: catalog prices, tax by destination country, flat shipping.

Pure Python. The configuration (PRICING_JSON, default ``constants.DEFAULT_PRICING``) is the
stack's; ValidateOrder reads its currency, PriceOrder everything.

Rules (one rounding per order, so a total never drifts by summing rounded lines):
- subtotal = sum(unit price x quantity)
- shipping = ``shippingCents`` unless subtotal >= ``freeShippingFromCents``
- tax = (subtotal + shipping) x rate, rounded half up: prices are net and, as with EU VAT,
  shipping is taxed like the goods it carries
- total = subtotal + shipping + tax
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from lambdas.shared import constants, settings
from lambdas.shared.errors import PriceMismatch, Undeliverable
from lambdas.shared.order import check_catalog
from lambdas.shared.stock import CatalogItem

BASIS_POINTS = 10_000


class Pricing(NamedTuple):
    currency: str
    tax_rate_basis_points: Mapping[str, int]
    shipping_cents: int
    free_shipping_from_cents: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Pricing:
        return cls(
            currency=str(config["currency"]),
            tax_rate_basis_points={str(k): int(v) for k, v in dict(config["taxRateBasisPoints"]).items()},
            shipping_cents=int(config["shippingCents"]),
            free_shipping_from_cents=int(config["freeShippingFromCents"]),
        )


def pricing_from_env() -> Pricing:
    """The stack's pricing (PRICING_JSON); the default when it is not set (a shop without overrides).

    Handlers read it once, into their settings."""
    return Pricing.from_config(settings.json_value(constants.ENV_PRICING, constants.DEFAULT_PRICING))


def tax_cents(amount_cents: int, rate_basis_points: int) -> int:
    """Tax on a non-negative amount, rounded half up to the cent (integer arithmetic: exact)."""
    return (amount_cents * rate_basis_points + BASIS_POINTS // 2) // BASIS_POINTS


def format_cents(cents: int, currency: str) -> str:
    return f"{cents // 100}.{cents % 100:02d} {currency}"


def discounted(unit_cents: int, discount_basis_points: int) -> int:
    """A unit price less a channel's discount, rounded half up to the cent (integer arithmetic: exact)."""
    return unit_cents - tax_cents(unit_cents, discount_basis_points)


def quote(
    items: Iterable[Mapping[str, Any]],
    country: str,
    catalog: Mapping[str, CatalogItem],
    pricing: Pricing,
    discount_basis_points: int = 0,
    shipping_cents: int | None = None,
) -> dict[str, Any]:
    """The priced order (PriceOrder's output in docs/CONTRACTS.md).

    A marketplace or store prices within its own rules (lambdas/marketplaces/registry.py): a discount off
    each unit price and its own flat shipping (``shipping_cents``; None: ours). Tax is the destination's.
    """
    items = list(items)
    # A product may have been withdrawn between validation and pricing.
    check_catalog(items, catalog)
    if country not in pricing.tax_rate_basis_points:
        raise Undeliverable(f"shippingAddress.country: no tax rate is configured for {country}")
    lines = []
    for line in items:
        unit = discounted(catalog[line["sku"]].price_cents, discount_basis_points)
        lines.append(
            {
                "sku": line["sku"],
                "quantity": line["quantity"],
                "unitPriceCents": unit,
                "lineTotalCents": unit * line["quantity"],
            }
        )
    subtotal = sum(line["lineTotalCents"] for line in lines)
    if shipping_cents is not None:
        shipping = shipping_cents
    else:
        shipping = 0 if subtotal >= pricing.free_shipping_from_cents else pricing.shipping_cents
    tax = tax_cents(subtotal + shipping, pricing.tax_rate_basis_points[country])
    return {
        "lines": lines,
        "subtotalCents": subtotal,
        "taxCents": tax,
        "shippingCents": shipping,
        "totalCents": subtotal + shipping + tax,
        "currency": pricing.currency,
    }


def verify_displayed_total(priced: Mapping[str, Any], displayed_cents: int) -> None:
    """``PriceMismatch`` unless the customer was shown exactly the total we are about to charge
    (``displayed_cents``: the normalised order's displayedTotalCents)."""
    displayed = displayed_cents
    total, currency = priced["totalCents"], priced["currency"]
    if displayed != total:
        breakdown = ", ".join(
            f"{label} {format_cents(priced[key], currency)}"
            for label, key in (("subtotal", "subtotalCents"), ("shipping", "shippingCents"), ("tax", "taxCents"))
        )
        raise PriceMismatch(
            f"displayedTotal: the customer was shown {format_cents(displayed, currency)} "
            f"but the order totals {format_cents(total, currency)} ({breakdown})"
        )
