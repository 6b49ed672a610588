"""Reading what the payment functions are given: event fields and the clock.

Each check fails with the caller's error class and a message that names the field, because
that message is what a person reads as the cause in the Step Functions or Lambda console.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lambdas.shared import constants

CURRENCY_PATTERN = r"^[A-Z]{3}$"
_MAX_TEXT = 256


class Fields:
    """Typed access to one JSON object of an event; ``where`` prefixes field names in messages."""

    def __init__(self, data: object, error: type[Exception], label: str, where: str = "") -> None:
        self._error = error
        self._label = label
        self._where = where
        if not isinstance(data, Mapping):
            target = f"field '{where.rstrip('.')}'" if where else "the input"
            raise error(f"{label}: {target} must be a JSON object, got {type(data).__name__}")
        self._data: Mapping[str, Any] = data

    def _fail(self, name: str, problem: str) -> Exception:
        return self._error(f"{self._label}: field '{self._where}{name}' {problem}")

    def optional_text(self, name: str, pattern: str | None = None, max_length: int = _MAX_TEXT) -> str | None:
        value = self._data.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self._fail(name, "must be a non-empty string")
        if len(value) > max_length:
            raise self._fail(name, f"must be at most {max_length} characters")
        if pattern and not re.fullmatch(pattern, value):
            raise self._fail(name, f"has an invalid value {value!r} (expected {pattern})")
        return value

    def text(self, name: str, pattern: str | None = None, max_length: int = _MAX_TEXT) -> str:
        value = self.optional_text(name, pattern, max_length)
        if value is None:
            raise self._fail(name, "is required")
        return value

    def integer(self, name: str, minimum: int = 0) -> int:
        value = self._data.get(name)
        if value is None:
            raise self._fail(name, "is required")
        # bool is an int subclass; a float would lose cents.
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(name, f"must be an integer, got {value!r}")
        if value < minimum:
            raise self._fail(name, f"must be at least {minimum}, got {value}")
        return value

    def obj(self, name: str) -> Fields:
        if self._data.get(name) is None:
            raise self._fail(name, "is required")
        return Fields(self._data[name], self._error, self._label, f"{self._where}{name}.")

    def order_id(self) -> str:
        return self.text("orderId", constants.ORDER_ID_PATTERN, max_length=64)

    def currency(self) -> str:
        return self.text("currency", CURRENCY_PATTERN)


def format_amount(amount_cents: int, currency: str) -> str:
    return f"{amount_cents / 100:.2f} {currency}"
