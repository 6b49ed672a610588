"""Sales per day x SKU x site variant and per channel, and the comparison of variants the shop reads.

Counters are keyed ``DAY#<yyyy-mm-dd>`` / ``VARIANT#<variant>#SKU#<sku>`` (orders containing the
SKU, units, merchandise revenue) plus ``VARIANT#<variant>#ALL`` for the variant's whole day, and
``CHANNEL#<channel>`` for the channel's whole day (web, marketplace:<name>, store:<name>).
One shop currency is assumed (pricing.currency); each item records it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any, NamedTuple

from lambdas.shared import constants

_SK = constants.SUBSCRIBER_TABLE_KEYS[1]

ALL = "ALL"
Adds = dict[str, int]


def day_pk(day: str) -> str:
    return f"DAY#{day}"


def variant_sk(variant: str, sku: str | None = None) -> str:
    return f"VARIANT#{variant}#" + (f"SKU#{sku}" if sku else ALL)


def channel_sk(channel: str) -> str:
    return f"{CHANNEL_PREFIX}{channel}"


CHANNEL_PREFIX = "CHANNEL#"


def order_counters(data: dict[str, Any], day: str) -> dict[tuple[str, str], Adds]:
    """The counter ADDs one completed order contributes, keyed (pk, sk).

    A SKU on several lines counts as one order for that SKU (and a transaction may touch an item once).
    """
    variant = data.get("siteVariant") or "control"
    per_sku: dict[str, Adds] = defaultdict(lambda: {"orders": 1, "units": 0, "revenueCents": 0})
    for line in data["lines"]:
        per_sku[line["sku"]]["units"] += int(line["quantity"])
        per_sku[line["sku"]]["revenueCents"] += int(line["lineTotalCents"])
    pk = day_pk(day)
    counters = {(pk, variant_sk(variant, sku)): adds for sku, adds in per_sku.items()}
    units = sum(a["units"] for a in per_sku.values())
    whole = {"orders": 1, "units": units, "revenueCents": int(data["subtotalCents"])}
    counters[(pk, variant_sk(variant))] = whole
    # An event from before channels existed carries none: it was a web order.
    counters[(pk, channel_sk(data.get("channel") or constants.CHANNEL_WEB))] = dict(whole)
    return counters


class VariantStats(NamedTuple):
    variant: str
    orders: int
    units: int
    revenue_cents: int
    avg_order_value_cents: float
    units_per_order: float
    # Change against the baseline in percent (orders and revenue normalised by traffic share when
    # one is given: without it, variants are assumed to get the same traffic).
    orders_lift_pct: float | None
    revenue_lift_pct: float | None
    # Average order value against the baseline's, in percent: a comparison per order, fair whatever the traffic.
    avg_order_value_lift_pct: float | None = None

    def too_small_to_compare(self, baseline: VariantStats | None) -> bool:
        """Fewer orders on either side than a comparison needs to mean anything (MIN_ORDERS_TO_COMPARE)."""
        return baseline is None or min(self.orders, baseline.orders) < MIN_ORDERS_TO_COMPARE


# Below this many orders per variant a difference is noise: reports say "sample too small" instead.
MIN_ORDERS_TO_COMPARE = 30


def compare_variants(
    rows: list[dict[str, Any]],
    baseline: str = "control",
    sku: str | None = None,
    traffic_split: dict[str, float] | None = None,
) -> list[VariantStats]:
    """Sum counter rows (any days) per variant and compare each with the baseline variant."""
    suffix = f"#SKU#{sku}" if sku else f"#{ALL}"
    totals: dict[str, Adds] = defaultdict(lambda: {"orders": 0, "units": 0, "revenueCents": 0})
    for row in rows:
        if not row[_SK].endswith(suffix):
            continue
        variant = row[_SK].removeprefix("VARIANT#").removesuffix(suffix)
        for name in ("orders", "units", "revenueCents"):
            totals[variant][name] += int(row.get(name, 0))

    def weight(variant: str) -> float:
        return (traffic_split or {}).get(variant, 1.0) or 1.0

    def lift(variant: str, name: str) -> float | None:
        if variant == baseline or baseline not in totals or not totals[baseline][name]:
            return None
        base = totals[baseline][name] / weight(baseline)
        return round((totals[variant][name] / weight(variant) - base) / base * 100, 2)

    def per_order(name: str, v: str, digits: int) -> float:
        orders = totals[v]["orders"]
        return round(totals[v][name] / orders, digits) if orders else 0.0

    def aov_lift(variant: str) -> float | None:
        if variant == baseline or not totals[baseline]["orders"] or not totals[variant]["orders"]:
            return None
        base = totals[baseline]["revenueCents"] / totals[baseline]["orders"]
        if not base:
            return None
        return round((totals[variant]["revenueCents"] / totals[variant]["orders"] - base) / base * 100, 2)

    ordered = sorted(totals, key=lambda v: (v != baseline, v))
    return [
        VariantStats(
            variant=v,
            orders=totals[v]["orders"],
            units=totals[v]["units"],
            revenue_cents=totals[v]["revenueCents"],
            avg_order_value_cents=per_order("revenueCents", v, 2),
            units_per_order=per_order("units", v, 3),
            orders_lift_pct=lift(v, "orders"),
            revenue_lift_pct=lift(v, "revenueCents"),
            avg_order_value_lift_pct=aov_lift(v),
        )
        for v in ordered
    ]


class ChannelStats(NamedTuple):
    channel: str
    orders: int
    units: int
    revenue_cents: int


def by_channel(rows: list[dict[str, Any]]) -> list[ChannelStats]:
    """Sum counter rows (any days) per channel, web first, then by name."""
    totals: dict[str, Adds] = defaultdict(lambda: {"orders": 0, "units": 0, "revenueCents": 0})
    for row in rows:
        if row[_SK].startswith(CHANNEL_PREFIX):
            for name in ("orders", "units", "revenueCents"):
                totals[row[_SK].removeprefix(CHANNEL_PREFIX)][name] += int(row.get(name, 0))
    ordered = sorted(totals, key=lambda c: (c != constants.CHANNEL_WEB, c))
    return [ChannelStats(c, totals[c]["orders"], totals[c]["units"], totals[c]["revenueCents"]) for c in ordered]


def days(first: date, last: date) -> list[str]:
    """Every UTC day from ``first`` to ``last``, both included (YYYY-MM-DD)."""
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


class SalesReport(NamedTuple):
    """Sales by site variant and by channel over a day range: what `orderctl sales`, the sandbox and bench read."""

    currency: str  # the shop's, as the counters recorded it ("" without sales)
    variants: list[VariantStats]
    channels: list[ChannelStats]  # whole orders per channel (not per SKU)


def currency_of(rows: Iterable[dict[str, Any]]) -> str:
    """The shop's currency as the counters recorded it ("" without any)."""
    return next((str(r["currency"]) for r in rows if r.get("currency")), "")
