"""Output a person reads (aligned tables, durations, money, UTC times) or JSON for scripts."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from lambdas.shared.durations import duration, span

__all__ = ["duration", "span"]


@dataclass(frozen=True)
class Output:
    """What a command produced: ``data`` for --json, ``text`` for people; ``ok`` sets the exit code."""

    data: Any
    text: str
    ok: bool = True

    def emit(self, stream: TextIO, as_json: bool) -> int:
        print(json.dumps(camel_keys(self.data), indent=2, default=str) if as_json else self.text, file=stream)
        return 0 if self.ok else 1


_SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")


def camel_keys(data: Any) -> Any:
    """Every snake_case key camelCase, as in the events and the tables (``revenue_cents`` -> ``revenueCents``):
    --json output has one spelling whichever module (or dataclass) produced it."""
    if isinstance(data, dict):
        return {_camel(k) if isinstance(k, str) else k: camel_keys(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [camel_keys(v) for v in data]
    return data


def _camel(key: str) -> str:
    if not _SNAKE.match(key):
        return key
    first, *rest = key.split("_")
    return first + "".join(part.capitalize() for part in rest)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns, two spaces apart."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells)


def fields(pairs: Sequence[tuple[str, str]], indent: int = 2) -> str:
    """``label  value`` lines, labels aligned."""
    width = max((len(label) for label, _ in pairs), default=0)
    return "\n".join(f"{' ' * indent}{label.ljust(width)}  {value}" for label, value in pairs)


def when(moment: datetime | None, now: datetime | None = None) -> str:
    """``2026-11-22 10:00:01 UTC (5 min ago)`` or ``(in 3 h)``."""
    if moment is None:
        return "-"
    now = now or datetime.now(UTC)
    text = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    delta = (now - moment).total_seconds()
    return f"{text} ({duration(delta)} ago)" if delta >= 0 else f"{text} (in {duration(-delta)})"


def money(cents: int, currency: str) -> str:
    return f"{cents / 100:,.2f} {currency}".strip()


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None
