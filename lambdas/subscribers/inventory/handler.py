"""OrderCompleted -> the held stock becomes sold; sales velocity is updated and, when a SKU's stock
will not last until a new delivery could arrive, ReorderSuggested is published.

Idempotent: selling holds is conditional on status HELD; sales are counted once per order (marker
in the same transaction); at most one suggestion per SKU x warehouse x day, marked once it went out.
The order's marker turns DONE only after the reorder check, so a delivery that failed midway raises and
is finished by its retry (or reaches the dead-letter queue), and a later redelivery or replay does
nothing.
"""

from __future__ import annotations

from functools import cache, partial
from typing import Any, NamedTuple

from lambdas.shared import constants
from lambdas.shared.adapters import inventory
from lambdas.shared.adapters.aws_clients import table
from lambdas.shared.adapters.event_bus import EventBus
from lambdas.shared.clock import now_iso
from lambdas.shared.events import marker_expiry, occurred_on
from lambdas.shared.observability import logger
from lambdas.shared.settings import text
from lambdas.subscribers import count_delivery, subscriber
from lambdas.subscribers.inventory import logic
from lambdas.subscribers.inventory import store as forecast
from lambdas.subscribers.settings import SubscriberSettings


class Settings(NamedTuple):
    subscriber: SubscriberSettings
    inventory_table: str  # the shop's stock (shared with the workflow)
    event_bus: str  # where ReorderSuggested goes


@cache
def settings() -> Settings:
    """Read once per container, at its first invocation."""
    return Settings(SubscriberSettings.from_env(), text(constants.ENV_INVENTORY_TABLE), text(constants.ENV_EVENT_BUS))


@subscriber("inventory")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    detail = event["detail"]
    data = detail["data"]
    order_id, warehouse_id = data["orderId"], data["warehouseId"]
    s = settings()
    table_name = table(s.subscriber.table_name)
    day = occurred_on(detail)
    expires_at = marker_expiry(detail, s.subscriber.marker_ttl_days)
    stock = partial(inventory.stock_levels, table_name=s.inventory_table)

    sold = inventory.sell_held_stock(order_id, table_name=s.inventory_table)
    units = logic.units_by_sku(data["lines"])
    counted = forecast.record_sales(table_name, order_id, warehouse_id, units, day, expires_at)
    done_before = not counted and forecast.is_done(table_name, order_id)
    count_delivery("inventory", not done_before)
    if done_before:
        logger.info("already processed (redelivery or replay)")
        return {"orderId": order_id, "sold": sold, "suggestions": []}

    catalog = inventory.get_catalog(units, table_name=s.inventory_table)
    suggestions = []
    for sku in sorted(units):
        per_day = forecast.daily_units(
            table_name, sku, warehouse_id, logic.window_start(day, constants.SALES_VELOCITY_WINDOW_DAYS), day
        )
        level = stock(sku).get(warehouse_id, {})
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
            EventBus(s.event_bus).publish(
                constants.EVENT_REORDER_SUGGESTED, suggestion, order_id, constants.INVENTORY_PRODUCER
            )
            forecast.mark_suggestion_published(table_name, sku, warehouse_id, day, now_iso())
            suggestions.append(suggestion["suggestionId"])
    forecast.mark_done(table_name, order_id)
    logger.info("sale recorded", extra={"sold": sold, "suggestions": suggestions})
    return {"orderId": order_id, "sold": sold, "suggestions": suggestions}
