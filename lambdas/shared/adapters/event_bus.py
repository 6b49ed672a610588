"""Publishes enveloped events on the order bus."""

from __future__ import annotations

from typing import Any

from lambdas.shared import constants
from lambdas.shared.adapters.aws_clients import client, env
from lambdas.shared.events import envelope, put_events_entry


class PublishFailed(Exception):
    """EventBridge did not accept the event (raised so the caller retries: nothing is dropped)."""


def publish(detail_type: str, data: dict[str, Any], correlation_id: str, producer: str) -> None:
    entry = put_events_entry(env(constants.ENV_EVENT_BUS), detail_type, envelope(data, correlation_id, producer))
    response = client("events").put_events(Entries=[entry])
    if response.get("FailedEntryCount"):
        failed = response["Entries"][0]
        raise PublishFailed(
            f"{detail_type} for {correlation_id}: {failed.get('ErrorCode')} {failed.get('ErrorMessage')}"
        )
