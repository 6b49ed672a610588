"""What an order leaves behind, read from the sandbox's backends (not API calls): the bytes its functions
wrote to CloudWatch Logs, the custom metrics they emitted (Powertools' embedded metric format lines),
and the DynamoDB bytes it stores, weighted by how long they stay (an item's TTL ends its stay).

The execution log is not written by moto: its bytes come from the history (bench.history), one
record per history event as Step Functions logs it at level ALL without execution data.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from bench import cost, prices

_MONTH_SECONDS = prices.SECONDS_PER_MONTH


@dataclass
class Footprint:
    log_bytes: int = 0
    log_stored_bytes: int = 0  # compressed, as CloudWatch Logs bills storage
    stored_bytes: int = 0  # DynamoDB bytes kept, as a year-equivalent (an item kept 3 months counts 1/4)
    stored_by_table: dict[str, int] = field(default_factory=dict)
    log_bytes_by_group: dict[str, int] = field(default_factory=dict)
    metrics: set[tuple[str, str, tuple[str, ...]]] = field(default_factory=set)  # namespace, name, dimensions


def compressed_size(lines: list[str]) -> int:
    return len(zlib.compress("\n".join(lines).encode(), 6)) if lines else 0


def emf_metrics(message: str) -> set[tuple[str, str, tuple[str, ...]]]:
    """(namespace, metric, dimension names and values) of one embedded-metric-format log line."""
    try:
        record = json.loads(message)
    except ValueError:
        return set()
    if not isinstance(record, dict) or not isinstance(record.get("_aws"), dict):
        return set()
    found = set()
    for directive in record["_aws"].get("CloudWatchMetrics", []):
        for dimension_set in directive.get("Dimensions", []) or [[]]:
            dimensions = tuple(f"{name}={record.get(name)}" for name in dimension_set)
            for metric in directive.get("Metrics", []):
                found.add((str(directive.get("Namespace")), str(metric.get("Name")), dimensions))
    return found


class Reader:
    """Reads what is new since the last ``take()`` from moto's Logs and DynamoDB backends."""

    def __init__(self, account_id: str, region: str, now: Any, ttl_attributes: dict[str, str]) -> None:
        self._account = account_id
        self._region = region
        self._now = now  # the sandbox clock's now(), for TTLs
        # Table name -> its TTL attribute, from the template (moto's deployment does not set it).
        self._ttl = ttl_attributes
        self._seen_events: dict[tuple[str, str], int] = {}
        self._stored = self._stored_year_bytes()
        self._log_lines()  # what was there before counts as seen

    def take(self) -> Footprint:
        by_group = self._log_lines()
        lines = [line for group_lines in by_group.values() for line in group_lines]
        stored = self._stored_year_bytes()
        grown = {t: round(b - self._stored.get(t, 0.0)) for t, b in stored.items() if b > self._stored.get(t, 0.0)}
        footprint = Footprint(
            log_bytes=sum(len(line.encode()) for line in lines),
            log_stored_bytes=compressed_size(lines),
            stored_bytes=sum(grown.values()),
            stored_by_table=grown,
            log_bytes_by_group={g: sum(len(x.encode()) for x in ls) for g, ls in by_group.items() if ls},
        )
        for line in lines:
            footprint.metrics |= emf_metrics(line)
        self._stored = stored
        return footprint

    def _log_lines(self) -> dict[str, list[str]]:
        """Log group -> its lines written since the last call."""
        from moto.logs.models import logs_backends

        new: dict[str, list[str]] = {}
        for group in logs_backends[self._account][self._region].groups.values():
            for stream_name, stream in group.streams.items():
                key = (group.name, stream_name)
                seen = self._seen_events.get(key, 0)
                new.setdefault(group.name, []).extend(event.message for event in stream.events[seen:])
                self._seen_events[key] = len(stream.events)
        return new

    def _stored_year_bytes(self) -> dict[str, float]:
        """Table name -> bytes it stores, as a year-equivalent."""
        from moto.dynamodb.models import dynamodb_backends

        now = self._now()
        totals: dict[str, float] = {}
        for table in dynamodb_backends[self._account][self._region].tables.values():
            total = 0.0
            ttl_attribute = self._ttl.get(table.name)
            for item in table.all_items():
                months = float(cost.STORAGE_MONTHS)
                expires = item.attrs.get(ttl_attribute) if ttl_attribute else None
                if expires is not None and expires.type == "N":
                    months = min(months, max(0.0, (float(expires.value) - now) / _MONTH_SECONDS))
                size = item.size() + prices.DYNAMODB_ITEM_OVERHEAD_BYTES
                total += size * months / cost.STORAGE_MONTHS
            totals[table.name] = total
        return totals
