"""Named domain errors.

The Lambda runtime reports an exception's class ``__name__`` as its ``errorType``, and Step
Functions uses that as the error name a Catch matches. Each class is therefore *named* after
its Step Functions error ("Order.OutOfStock"), so the ASL catches exactly the names the
README documents, and the message becomes the cause a person reads in the console.
"""

from __future__ import annotations

import json
from typing import ClassVar

from lambdas.shared import constants


class OrderError(Exception):
    """Base class: a business outcome that ends the order (after compensation)."""

    error_name: ClassVar[str] = "Order.Error"

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.__name__ = cls.error_name


class InvalidOrder(OrderError):
    error_name = constants.ERROR_INVALID


class Undeliverable(OrderError):
    error_name = constants.ERROR_UNDELIVERABLE


class OutOfStock(OrderError):
    error_name = constants.ERROR_OUT_OF_STOCK


class PriceMismatch(OrderError):
    error_name = constants.ERROR_PRICE_MISMATCH


class PaymentDeclined(OrderError):
    error_name = constants.ERROR_PAYMENT_DECLINED


class ReviewDecisionError(Exception):
    """A review decision that cannot be applied (unknown order, already decided, stale token)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def readable_cause(cause: str | None) -> str | None:
    """A failed execution's cause as a person reads it: a Lambda task's cause is its JSON error payload
    (keep its message); any other cause is already text."""
    if not cause:
        return cause
    try:
        payload = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(payload, dict) and "errorMessage" in payload:
        return str(payload["errorMessage"])
    return cause
