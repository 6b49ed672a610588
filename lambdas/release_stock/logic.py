"""ReleaseStock's domain: release whatever the order still holds, nothing else."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Release = Callable[[str], list[dict[str, Any]]]


def release(event: Mapping[str, Any], release_holds: Release) -> dict[str, Any]:
    """{releasedLines: [{sku, warehouseId, quantity}]}: only what this call released.

    A retry, or an order that never held anything (it failed validation of its stock), gets [].
    """
    order_id = event.get("orderId") if isinstance(event, Mapping) else None
    if not isinstance(order_id, str) or not order_id:
        # The workflow always passes the validated order's id: anything else is a wiring bug.
        raise ValueError(f"orderId: must be a non-empty string, got {order_id!r}")
    return {"releasedLines": release_holds(order_id)}
