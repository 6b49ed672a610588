"""OrderCompleted of a shipped order -> a delivery partner booked -> ShipmentAssigned (once per order).

The rule only sends shipped orders (fulfilment ``shipped``: a store's handed-over sale has no parcel). The
partner is the cheapest that keeps the channel's promised delivery days (logic.py); it is booked under the order
id as booking reference, so a repeated booking returns the first (carriers.py). A carrier that is down is asked
again with back-off, then the next partner; one that refuses: the next partner; one whose answer was lost is the
only one asked until it answers. When no partner takes the parcel the run raises: Lambda retries the event, then
it lands in the dead-letter queue (alarmed): never lost, never booked twice. A redelivery after the publish
changes nothing; one after a booking whose publish failed publishes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final, NamedTuple

from lambdas.marketplaces.registry import promised_days
from lambdas.shared import constants
from lambdas.shared.adapters import inventory
from lambdas.shared.adapters.aws_clients import table
from lambdas.shared.adapters.event_bus import EventBus
from lambdas.shared.events import marker_expiry, occurred_on
from lambdas.shared.observability import logger
from lambdas.shared.settings import cold_start, text
from lambdas.subscribers import count_delivery, subscriber
from lambdas.subscribers.logistics import logic, store
from lambdas.subscribers.logistics.carriers import (
    CarrierRefused,
    Carriers,
    CarrierUnavailable,
    CarrierUncertain,
    SimulatedCarriers,
)
from lambdas.subscribers.settings import SubscriberSettings

# Asking one carrier: attempts and the back-off between them (a carrier that is down).
CARRIER_ATTEMPTS: Final = 3
CARRIER_BACKOFF_SECONDS: Final = 0.5


class Settings(NamedTuple):
    subscriber: SubscriberSettings
    inventory_table: str  # the catalog's weights
    event_bus: str  # where ShipmentAssigned goes

    @classmethod
    def from_env(cls) -> Settings:
        return cls(SubscriberSettings.from_env(), text(constants.ENV_INVENTORY_TABLE), text(constants.ENV_EVENT_BUS))


settings = cold_start(Settings.from_env, __name__)


def assign(
    detail: dict[str, Any],
    weights: Callable[[list[str]], dict[str, int]],
    carriers: Carriers,
    dynamo_table: Any,
    publish: Callable[[dict[str, Any]], None],
    expires_at: int,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[bool, dict[str, Any]]:
    """(applied, ShipmentAssigned data); raises NoDeliveryPartner or CarrierUncertain (the event is retried)."""
    data = detail["data"]
    order_id = data["orderId"]
    record = store.get(dynamo_table, order_id)
    if record.get("status") == store.PUBLISHED:
        return False, dict(record["shipment"])
    if record.get("status") == store.BOOKED:
        shipment = dict(record["shipment"])
    else:
        lines = data["lines"]
        parcel = logic.Parcel(
            order_id,
            data["warehouseId"],
            data["destinationCountry"],
            logic.parcel_weight(lines, weights([line["sku"] for line in lines])),
        )
        rates = logic.candidates(parcel, promised_days(data.get("channel")))
        left = logic.first_try(rates, record.get("refused") or (), record.get("uncertain"))
        shipment = _book(parcel, left, carriers, dynamo_table, expires_at, sleep, data, detail)
        store.mark_booked(dynamo_table, order_id, shipment, expires_at)
    publish(shipment)
    store.mark_published(dynamo_table, order_id, expires_at)
    return True, shipment


def _book(
    parcel: logic.Parcel,
    rates: list[logic.Rate],
    carriers: Carriers,
    dynamo_table: Any,
    expires_at: int,
    sleep: Callable[[float], None],
    data: dict[str, Any],
    detail: dict[str, Any],
) -> dict[str, Any]:
    tried = []
    for rate in rates:
        for attempt in range(CARRIER_ATTEMPTS):
            try:
                booking = carriers.book(rate.carrier, parcel.order_id, parcel)
            except CarrierUnavailable as error:
                tried.append(f"{rate.carrier}: {error}")
                if attempt + 1 < CARRIER_ATTEMPTS:
                    sleep(CARRIER_BACKOFF_SECONDS * 2**attempt)
                continue
            except CarrierRefused as error:
                tried.append(f"{rate.carrier}: {error}")
                store.mark_refused(dynamo_table, parcel.order_id, rate.carrier, expires_at)
                break
            except CarrierUncertain:
                store.mark_uncertain(dynamo_table, parcel.order_id, rate.carrier, expires_at)
                raise
            promised = logic.promised_date(occurred_on(detail), rate.days)
            return logic.shipment_assigned(data, parcel, booking.carrier, booking.tracking_number, promised)
    raise logic.NoDeliveryPartner(f"order {parcel.order_id}: no delivery partner took the parcel ({'; '.join(tried)})")


@subscriber("logistics")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    s = settings()
    detail = event["detail"]
    order_id = detail["data"]["orderId"]
    dynamo_table = table(s.subscriber.table_name)

    def weights(skus: list[str]) -> dict[str, int]:
        catalog = inventory.get_catalog(skus, table_name=s.inventory_table)
        return {sku: item.weight_grams for sku, item in catalog.items()}

    def publish(shipment: dict[str, Any]) -> None:
        EventBus(s.event_bus).publish(
            constants.EVENT_SHIPMENT_ASSIGNED, shipment, order_id, constants.LOGISTICS_PRODUCER
        )

    applied, shipment = assign(
        detail,
        weights,
        SimulatedCarriers(dynamo_table),
        dynamo_table,
        publish,
        marker_expiry(detail, s.subscriber.marker_ttl_days),
    )
    count_delivery("logistics", applied)
    # The shipment's customer (their e-mail) stays out of the log: only what identifies the parcel.
    booked = {key: shipment.get(key) for key in ("orderId", "carrier", "trackingNumber", "promisedDate")}
    logger.info("shipment assigned" if applied else "already assigned (redelivery)", extra=booked)
    return {"orderId": order_id, "assigned": applied, "carrier": shipment["carrier"]}
