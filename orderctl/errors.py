"""The errors orderctl shows a person: what went wrong, and what to do about it."""

from __future__ import annotations


class OrderctlError(Exception):
    """Refused or failed: exit status 1."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(OrderctlError):
    """A value the person typed is wrong (an order id, a time, a file, a name): exit status 2, as argparse's."""

    exit_code = 2
