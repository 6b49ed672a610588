"""The carriers' booking interface, simulated: what a partner's API answers, and its own record of bookings.

``book(carrier, reference, parcel)`` books a pickup under our booking reference (the order id). A carrier keeps
its bookings by reference, so asking again with the same reference returns the same booking and tracking
number (as real carrier APIs do with an idempotency key); it never books twice.

Answers: a ``Booking``; ``CarrierRefused`` (a definite no: try the next partner); ``CarrierUnavailable`` (the
request never reached it: safe to retry or move on); ``CarrierUncertain`` (no answer after it was sent: it may
have booked, so only it is asked again). The simulation refuses nothing and is always up unless told otherwise
(``down``/``refusing``/``lost_replies``: for tests and fault drills).
"""

from __future__ import annotations

import hashlib
from collections.abc import Set as AbstractSet
from typing import Any, NamedTuple, Protocol

from botocore.exceptions import ClientError

from lambdas.shared import constants
from lambdas.shared.adapters.dynamo import conditional_check_failed
from lambdas.subscribers.logistics.logic import Parcel

_PK, _SK = constants.SUBSCRIBER_TABLE_KEYS


class CarrierRefused(Exception):
    pass


class CarrierUnavailable(Exception):
    pass


class CarrierUncertain(Exception):
    pass


class Booking(NamedTuple):
    carrier: str
    reference: str
    tracking_number: str


class Carriers(Protocol):
    def book(self, carrier: str, reference: str, parcel: Parcel) -> Booking: ...


def tracking_number(carrier: str, reference: str) -> str:
    digest = int(hashlib.sha256(f"{carrier}:{reference}".encode()).hexdigest()[:12], 16)
    return f"{carrier.upper().replace('-', '')[:4]}{digest % 10**12:012d}"


class SimulatedCarriers(NamedTuple):
    """The partners' side, kept in the logistics table (pk ``CARRIER#<name>``, sk ``BOOKING#<reference>``)."""

    dynamo_table: Any
    down: AbstractSet[str] = frozenset()
    refusing: AbstractSet[str] = frozenset()
    lost_replies: AbstractSet[str] = frozenset()

    def book(self, carrier: str, reference: str, parcel: Parcel) -> Booking:
        if carrier in self.down:
            raise CarrierUnavailable(f"{carrier}: connection refused")
        if carrier in self.refusing:
            raise CarrierRefused(f"{carrier}: no capacity for a pickup at {parcel.warehouse_id}")
        key = {_PK: f"CARRIER#{carrier}", _SK: f"BOOKING#{reference}"}
        number = tracking_number(carrier, reference)
        try:
            self.dynamo_table.put_item(
                Item={**key, "trackingNumber": number, "weightGrams": parcel.weight_grams, "country": parcel.country},
                ConditionExpression=f"attribute_not_exists({_PK})",
            )
        except ClientError as error:
            if not conditional_check_failed(error):
                raise
            number = str(self.dynamo_table.get_item(Key=key, ConsistentRead=True)["Item"]["trackingNumber"])
        if carrier in self.lost_replies:
            raise CarrierUncertain(f"{carrier}: no reply within the timeout")
        return Booking(carrier, reference, number)
