"""Choosing a delivery partner: the rate table, the parcel's weight, the promised delivery days. Pure.

A rate serves one warehouse's parcels to some countries up to a weight, in so many days, for a base price
plus a price per started kilogram. The choice is the cheapest rate that meets the delivery days the channel
promised (lambdas/marketplaces/registry.py; the web shop: 5 days); the others follow as fallbacks, those that
meet the promise first, then the fastest.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any, Final, NamedTuple

EU: Final = ("DE", "AT", "FR", "NL", "BE", "LU", "IT", "ES", "PL")
# The packaging every parcel adds to its goods.
PACKAGING_GRAMS: Final = 150


class Rate(NamedTuple):
    carrier: str
    warehouse_id: str
    countries: tuple[str, ...]
    max_weight_grams: int
    base_cents: int
    per_kg_cents: int
    days: int

    def price_cents(self, weight_grams: int) -> int:
        return self.base_cents + self.per_kg_cents * math.ceil(weight_grams / 1000)

    def serves(self, warehouse_id: str, country: str, weight_grams: int) -> bool:
        return warehouse_id == self.warehouse_id and country in self.countries and weight_grams <= self.max_weight_grams


RATES: Final[tuple[Rate, ...]] = (
    Rate("DHL", "WH-EU-1", EU, 31_500, 499, 40, 2),
    Rate("Hermes", "WH-EU-1", ("DE", "AT", "NL"), 25_000, 389, 35, 4),
    Rate("DPD", "WH-EU-1", EU, 31_500, 449, 30, 3),
    Rate("RoyalMail", "WH-UK-1", ("GB", "IE"), 20_000, 350, 60, 3),
    Rate("DPD-UK", "WH-UK-1", ("GB", "IE"), 31_500, 520, 30, 1),
    Rate("USPS", "WH-US-1", ("US",), 31_500, 600, 80, 5),
    Rate("UPS", "WH-US-1", ("US", "CA"), 31_500, 900, 60, 2),
)


class NoDeliveryPartner(RuntimeError):
    """No rate serves this parcel (warehouse, country, weight), or every partner refused it."""


class Parcel(NamedTuple):
    order_id: str
    warehouse_id: str
    country: str
    weight_grams: int


def parcel_weight(lines: Iterable[Mapping[str, Any]], weights: Mapping[str, int]) -> int:
    """The goods' catalog weight (a product without one counts 0 g) plus the packaging."""
    return PACKAGING_GRAMS + sum(int(weights.get(line["sku"], 0)) * int(line["quantity"]) for line in lines)


def candidates(parcel: Parcel, promised_days: int, rates: Iterable[Rate] = RATES) -> list[Rate]:
    """The rates to try, in order: cheapest that keeps the promise first, then the others, fastest first."""
    serving = [r for r in rates if r.serves(parcel.warehouse_id, parcel.country, parcel.weight_grams)]
    if not serving:
        raise NoDeliveryPartner(
            f"no delivery partner ships {parcel.weight_grams} g from {parcel.warehouse_id} to {parcel.country}"
        )
    keep = sorted(
        (r for r in serving if r.days <= promised_days), key=lambda r: (r.price_cents(parcel.weight_grams), r.days)
    )
    late = sorted(
        (r for r in serving if r.days > promised_days), key=lambda r: (r.days, r.price_cents(parcel.weight_grams))
    )
    return keep + late


def promised_date(day: str, days: int) -> str:
    """The day the parcel is due: ``days`` after the day the order completed (ISO dates)."""
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def first_try(rates: list[Rate], refused: Iterable[str], uncertain: str | None) -> list[Rate]:
    """What is left to try: refusals are final; a carrier whose answer was lost is asked again first, and no
    other partner is tried until it answers (it may hold a booking already: never book twice)."""
    left = [r for r in rates if r.carrier not in set(refused)]
    if uncertain is not None:
        return [r for r in left if r.carrier == uncertain]
    return left


def shipment_assigned(
    data: Mapping[str, Any], parcel: Parcel, carrier: str, tracking_number: str, promised: str
) -> dict[str, Any]:
    """ShipmentAssigned data (lambdas/shared/schemas.py)."""
    return {
        "orderId": parcel.order_id,
        "customer": {"id": data["customer"]["id"], "email": data["customer"]["email"]},
        "channel": data.get("channel", "web"),
        "warehouseId": parcel.warehouse_id,
        "destinationCountry": parcel.country,
        "carrier": carrier,
        "bookingReference": parcel.order_id,
        "trackingNumber": tracking_number,
        "parcelWeightGrams": parcel.weight_grams,
        "promisedDate": promised,
    }
