"""Publishes enveloped events on the order bus."""

from __future__ import annotations

from typing import Any

from lambdas.shared import constants
from lambdas.shared.adapters.aws_clients import client
from lambdas.shared.events import envelope, put_events_entry


class PublishFailed(Exception):
    """EventBridge did not accept the event (raised so the caller retries: nothing is dropped)."""


class EventBus:
    """The order bus a function publishes on (its name from the function's settings)."""

    def __init__(self, bus_name: str) -> None:
        self.bus_name = bus_name

    def publish(
        self,
        detail_type: str,
        data: dict[str, Any],
        correlation_id: str,
        producer: str,
        source: str = constants.EVENT_SOURCE,
    ) -> None:
        entry = put_events_entry(self.bus_name, detail_type, envelope(data, correlation_id, producer), source)
        response = client("events").put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            failed = response["Entries"][0]
            raise PublishFailed(
                f"{detail_type} for {correlation_id}: {failed.get('ErrorCode')} {failed.get('ErrorMessage')}"
            )
