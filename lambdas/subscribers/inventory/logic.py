"""Reorder forecasting: sales velocity against supplier lead time.

Velocity is units sold per day over a trailing window (days without sales count as zero).
Projected cover = available units / velocity. When the cover is shorter than the supplier's lead
time, the stock runs out before a new delivery can arrive: suggest ordering enough to cover the
lead time plus a target cover beyond it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any


def units_by_sku(lines: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    units: Counter[str] = Counter()
    for line in lines:
        units[line["sku"]] += int(line["quantity"])
    return dict(units)


def window_start(day: str, window_days: int) -> str:
    return (date.fromisoformat(day) - timedelta(days=window_days - 1)).isoformat()


def daily_velocity(units_per_day: Mapping[str, int], window_days: int) -> float:
    return sum(units_per_day.values()) / window_days


def reorder_suggestion(
    sku: str,
    warehouse_id: str,
    day: str,
    available: int,
    velocity: float,
    lead_time_days: int,
    target_cover_days: int,
) -> dict[str, Any] | None:
    """ReorderSuggested data when the projected cover falls below the lead time, else None."""
    if velocity <= 0:
        return None
    cover = max(available, 0) / velocity
    if cover >= lead_time_days:
        return None
    needed = math.ceil(velocity * (lead_time_days + target_cover_days)) - max(available, 0)
    return {
        "suggestionId": f"{sku}:{warehouse_id}:{day}",
        "sku": sku,
        "warehouseId": warehouse_id,
        "available": available,
        "dailyVelocity": round(velocity, 3),
        "coverDays": round(cover, 2),
        "leadTimeDays": lead_time_days,
        "suggestedQuantity": max(needed, 1),
    }
