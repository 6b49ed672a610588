"""OrderCompleted -> the held stock becomes sold; sales velocity is updated and, when a SKU's stock
will not last until a new delivery could arrive, ReorderSuggested is published.

Idempotent: selling holds is conditional on status HELD; sales are counted once per order (marker
in the same transaction); at most one suggestion per SKU x warehouse x day, marked once it went out.
The order's marker turns DONE only after the reorder check, so a delivery that failed midway raises and
is finished by its retry (or reaches the dead-letter queue), and a later redelivery or replay does
nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lambdas.shared import constants
from lambdas.shared.adapters import inventory
from lambdas.shared.adapters.aws_clients import env, table
from lambdas.shared.adapters.event_bus import publish
from lambdas.shared.events import marker_expiry, occurred_on
from lambdas.shared.observability import lambda_handler, logger
from lambdas.subscribers import count_delivery
from lambdas.subscribers.inventory import logic
from lambdas.subscribers.inventory import store as forecast


@lambda_handler(correlation_id_path="detail.metadata.correlationId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    detail = event["detail"]
    data = detail["data"]
    order_id, warehouse_id = data["orderId"], data["warehouseId"]
    table_name = table(env(constants.ENV_SUBSCRIBER_TABLE))
    day = occurred_on(detail)
    expires_at = marker_expiry(detail, int(env(constants.ENV_MARKER_TTL_DAYS)))

    sold = inventory.sell_held_stock(order_id)
    units = logic.units_by_sku(data["lines"])
    counted = forecast.record_sales(table_name, order_id, warehouse_id, units, day, expires_at)
    done_before = not counted and forecast.is_done(table_name, order_id)
    count_delivery("inventory", not done_before)
    if done_before:
        logger.info("already processed (redelivery or replay)")
        return {"orderId": order_id, "sold": sold, "suggestions": []}

    catalog = inventory.get_catalog(units)
    suggestions = []
    for sku in sorted(units):
        per_day = forecast.daily_units(
            table_name, sku, warehouse_id, logic.window_start(day, constants.SALES_VELOCITY_WINDOW_DAYS), day
        )
        level = inventory.stock_levels(sku).get(warehouse_id, {})
        item = catalog.get(sku)
        suggestion = logic.reorder_suggestion(
            sku,
            warehouse_id,
            day,
            available=int(level.get("available", 0)),
            velocity=logic.daily_velocity(per_day, constants.SALES_VELOCITY_WINDOW_DAYS),
            lead_time_days=item.lead_time_days if item else constants.DEFAULT_LEAD_TIME_DAYS,
            target_cover_days=constants.REORDER_TARGET_COVER_DAYS,
        )
        if suggestion and forecast.claim_suggestion(table_name, sku, warehouse_id, day, order_id, expires_at):
            publish(constants.EVENT_REORDER_SUGGESTED, suggestion, order_id, constants.INVENTORY_PRODUCER)
            forecast.mark_suggestion_published(table_name, sku, warehouse_id, day, _now())
            suggestions.append(suggestion["suggestionId"])
    forecast.mark_done(table_name, order_id)
    logger.info("sale recorded", extra={"sold": sold, "suggestions": suggestions})
    return {"orderId": order_id, "sold": sold, "suggestions": suggestions}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
