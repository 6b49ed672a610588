"""Logistics: the cheapest partner that keeps the promise, booked once, ShipmentAssigned once; a carrier that
refuses or is down moves on to the next, one whose answer was lost is asked again, none at all raises."""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.subscribers.logistics import logic, store
from lambdas.subscribers.logistics.carriers import (
    Booking,
    CarrierRefused,
    CarrierUnavailable,
    CarrierUncertain,
    SimulatedCarriers,
)
from lambdas.subscribers.logistics.handler import assign
from tests.contract import samples

WEIGHTS = {"MUG-BLUE": 420, "TEE-M": 180}


def completed(channel: str = "web", country: str = "DE", order_id: str = "ord-1001") -> dict[str, Any]:
    event = samples.order_completed(order_id=order_id)
    event["detail"]["data"]["channel"] = channel
    event["detail"]["data"]["destinationCountry"] = country
    return event["detail"]


def weights(skus: list[str]) -> dict[str, int]:
    return {sku: WEIGHTS[sku] for sku in skus if sku in WEIGHTS}


class Partners:
    """A carrier API that answers as told, per carrier: a list of outcomes, then bookings."""

    def __init__(self, **script: list[type[Exception]]) -> None:
        self.script = {k: list(v) for k, v in script.items()}
        self.calls: list[str] = []
        self.booked: dict[tuple[str, str], str] = {}

    def book(self, carrier: str, reference: str, parcel: logic.Parcel) -> Booking:
        self.calls.append(carrier)
        if self.script.get(carrier):
            raise self.script[carrier].pop(0)(carrier)
        number = self.booked.setdefault((carrier, reference), f"{carrier}-{len(self.booked) + 1}")
        return Booking(carrier, reference, number)


def run(detail: dict[str, Any], partners: Any, table: Any) -> tuple[bool, dict[str, Any], list[dict[str, Any]]]:
    published: list[dict[str, Any]] = []
    applied, shipment = assign(detail, weights, partners, table, published.append, 2_000_000_000, lambda s: None)
    return applied, shipment, published


def test_the_parcel_weighs_its_goods_and_packaging() -> None:
    lines = [{"sku": "MUG-BLUE", "quantity": 2}, {"sku": "TEE-M", "quantity": 1}]
    assert logic.parcel_weight(lines, WEIGHTS) == 2 * 420 + 180 + logic.PACKAGING_GRAMS


def test_the_cheapest_rate_that_keeps_the_promise_comes_first() -> None:
    parcel = logic.Parcel("o", "WH-EU-1", "DE", 1170)
    assert [r.carrier for r in logic.candidates(parcel, 5)] == ["Hermes", "DPD", "DHL"]
    assert [r.carrier for r in logic.candidates(parcel, 3)] == ["DPD", "DHL", "Hermes"]  # Hermes takes 4 days
    assert [r.carrier for r in logic.candidates(parcel, 2)] == ["DHL", "DPD", "Hermes"]


def test_no_rate_for_the_parcel_raises() -> None:
    with pytest.raises(logic.NoDeliveryPartner, match="40000 g"):
        logic.candidates(logic.Parcel("o", "WH-EU-1", "DE", 40_000), 5)
    with pytest.raises(logic.NoDeliveryPartner):
        logic.candidates(logic.Parcel("o", "WH-US-1", "DE", 100), 5)


def test_a_shipped_order_is_booked_and_published_once(subscriber_table: Any) -> None:
    partners = Partners()
    applied, shipment, published = run(completed(), partners, subscriber_table)
    assert applied and published == [shipment]
    assert (shipment["carrier"], shipment["bookingReference"], shipment["promisedDate"]) == (
        "Hermes",
        "ord-1001",
        "2026-11-24",
    )
    again, same, published_again = run(completed(), partners, subscriber_table)
    assert (again, same, published_again) == (False, shipment, [])
    assert partners.calls == ["Hermes"]


def test_a_marketplace_promise_picks_a_faster_partner(subscriber_table: Any) -> None:
    _, shipment, _ = run(completed(channel="marketplace:ebuy"), Partners(), subscriber_table)
    assert shipment["carrier"] == "DPD" and shipment["channel"] == "marketplace:ebuy"  # eBuy promises 3 days


def test_a_carrier_that_is_down_is_retried_then_the_next_partner_books(subscriber_table: Any) -> None:
    partners = Partners(Hermes=[CarrierUnavailable] * 3)
    _, shipment, _ = run(completed(), partners, subscriber_table)
    assert partners.calls == ["Hermes", "Hermes", "Hermes", "DPD"] and shipment["carrier"] == "DPD"


def test_a_carrier_that_comes_back_is_kept(subscriber_table: Any) -> None:
    partners = Partners(Hermes=[CarrierUnavailable])
    _, shipment, _ = run(completed(), partners, subscriber_table)
    assert partners.calls == ["Hermes", "Hermes"] and shipment["carrier"] == "Hermes"


def test_a_refusal_is_final_for_that_order(subscriber_table: Any) -> None:
    partners = Partners(Hermes=[CarrierRefused], DPD=[CarrierUnavailable] * 3, DHL=[CarrierUnavailable] * 3)
    with pytest.raises(logic.NoDeliveryPartner, match="no delivery partner took the parcel"):
        run(completed(), partners, subscriber_table)
    assert store.get(subscriber_table, "ord-1001")["refused"] == {"Hermes"}
    partners.calls.clear()
    _, shipment, _ = run(completed(), partners, subscriber_table)  # Lambda's retry: DPD is back
    assert partners.calls == ["DPD"] and shipment["carrier"] == "DPD"


def test_a_lost_answer_asks_only_that_carrier_again_and_never_books_twice(subscriber_table: Any) -> None:
    partners = Partners(Hermes=[CarrierUncertain])
    with pytest.raises(CarrierUncertain):
        run(completed(), partners, subscriber_table)
    _, shipment, published = run(completed(), partners, subscriber_table)
    assert partners.calls == ["Hermes", "Hermes"] and shipment["carrier"] == "Hermes" and len(published) == 1


def test_a_failed_publish_is_finished_by_the_retry_without_booking_again(subscriber_table: Any) -> None:
    partners = Partners()

    def broken(shipment: dict[str, Any]) -> None:
        raise RuntimeError("PutEvents failed")

    with pytest.raises(RuntimeError):
        assign(completed(), weights, partners, subscriber_table, broken, 2_000_000_000, lambda s: None)
    applied, shipment, published = run(completed(), partners, subscriber_table)
    assert applied and published == [shipment] and partners.calls == ["Hermes"]


def test_a_retry_after_a_failed_publish_publishes_the_same_shipment(subscriber_table: Any) -> None:
    """The retry publishes the booked shipment from the table: the same data as the first attempt's, not
    DynamoDB's Decimals (the event bus wrote parcelWeightGrams "600", a second, different ShipmentAssigned)."""
    first: list[dict[str, Any]] = []

    def broken(shipment: dict[str, Any]) -> None:
        first.append(shipment)
        raise RuntimeError("PutEvents failed")

    with pytest.raises(RuntimeError):
        assign(completed(), weights, Partners(), subscriber_table, broken, 2_000_000_000, lambda s: None)
    applied, _, published = run(completed(), Partners(), subscriber_table)
    assert applied and published == first
    assert type(published[0]["parcelWeightGrams"]) is int


def test_the_simulated_carrier_returns_the_first_booking_for_a_reference(subscriber_table: Any) -> None:
    carriers = SimulatedCarriers(subscriber_table)
    parcel = logic.Parcel("ord-1", "WH-EU-1", "DE", 500)
    first = carriers.book("DHL", "ord-1", parcel)
    assert carriers.book("DHL", "ord-1", parcel) == first
    assert first.tracking_number.startswith("DHL") and carriers.book("DPD", "ord-1", parcel) != first
    with pytest.raises(CarrierUncertain):
        SimulatedCarriers(subscriber_table, lost_replies={"DHL"}).book("DHL", "ord-2", parcel)
    assert carriers.book("DHL", "ord-2", parcel).reference == "ord-2"  # booked once, found again
    with pytest.raises(CarrierRefused):
        SimulatedCarriers(subscriber_table, refusing={"UPS"}).book("UPS", "ord-3", parcel)


def test_the_tracking_email_is_built_from_shipment_assigned() -> None:
    from lambdas.subscribers.notifications import logic as notifications

    request = notifications.parse("ShipmentAssigned", samples.shipment_assigned()["detail"])
    assert (request.order_id, request.kind, request.email.to) == ("ord-1001", "TRACKING", "ada@example.com")
    assert "DHL00012345678" in request.email.subject and "2026-11-24" in request.email.text
    assert notifications.parse("OrderCompleted", samples.order_completed()["detail"]).kind == ""
