"""What every subscriber of the order bus reads from its environment."""

from __future__ import annotations

from typing import NamedTuple

from lambdas.shared import constants
from lambdas.shared.settings import positive_int, text


class SubscriberSettings(NamedTuple):
    """What every subscriber of the order bus reads: its own table and how long its markers live."""

    table_name: str
    marker_ttl_days: int

    @classmethod
    def from_env(cls) -> SubscriberSettings:
        return cls(text(constants.ENV_SUBSCRIBER_TABLE), positive_int(constants.ENV_MARKER_TTL_DAYS))
