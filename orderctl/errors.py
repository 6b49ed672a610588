"""The one error orderctl shows a person: what went wrong, and what to do about it."""

from __future__ import annotations


class OrderctlError(Exception):
    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
