"""The failure_stats subscriber's table: failed orders per day x named error, each order counted once.

Items (pk / sk): ``DAY#<yyyy-mm-dd>`` / ``ERROR#<name>`` {orders} (logic.failure_counter); ``ORDER#<orderId>`` /
``FAILED``: the order is counted (its marker, gone after the marker TTL).
"""

from __future__ import annotations

from typing import Any

from lambdas.shared import constants
from lambdas.shared.adapters.dynamo import Increment, add_once

_PK, _SK = constants.SUBSCRIBER_TABLE_KEYS


def count_failure(dynamo_table: Any, order_id: str, counter: tuple[str, str], expires_at: int) -> bool:
    """Add the order to its day x error counter unless it was counted before; False for a redelivery."""
    marker = {_PK: f"ORDER#{order_id}", _SK: "FAILED", constants.MARKER_TTL_ATTRIBUTE: expires_at}
    pk, sk = counter
    return add_once(dynamo_table, marker, [Increment({_PK: pk, _SK: sk}, {"orders": 1})])
