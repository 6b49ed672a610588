"""What a payment can be: the statuses of a payments item, and what became of its review task.

Pure names and values (no AWS): the payment functions' domain code, the review monitor, the sweeper and
the tools read them here; ``lambdas.shared.adapters.payments`` stores and reads them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, NamedTuple, Protocol

# Statuses of a payment item. CHARGING marks a claimed charge whose gateway outcome is not
# recorded yet (a crash in between): a retry completes it, a compensation voids it.
CHARGING: Final = "CHARGING"
APPROVED: Final = "APPROVED"
REVIEW_PENDING: Final = "REVIEW_PENDING"
REVIEW_APPROVED: Final = "REVIEW_APPROVED"
REVIEW_REJECTED: Final = "REVIEW_REJECTED"
DECLINED: Final = "DECLINED"
REFUNDED: Final = "REFUNDED"
VOIDED: Final = "VOIDED"
# Collected by a marketplace or a store (a channel order): nothing was charged, nothing is ever refunded.
PREPAID: Final = "PREPAID"
# On a REVIEW_APPROVED / REVIEW_REJECTED item: False from the moment the decision is recorded until
# the waiting execution accepted it (then True, and the task token is removed).
CALLBACK_DELIVERED: Final = "callbackDelivered"

# What became of the task an order's review waits on (ReviewTask.state), read from its execution.
TASK_WAITING: Final = "WAITING"  # a review task is open (maybe under a newer token)
TASK_SUCCEEDED: Final = "SUCCEEDED"  # an approval reached it
TASK_FAILED: Final = "FAILED"  # a rejection (error Order.ReviewRejected) or another error ended it
TASK_TIMED_OUT: Final = "TIMED_OUT"  # the review timeout passed before any answer
TASK_NONE: Final = "NONE"  # the execution never reached the review task


class ReviewTask(NamedTuple):
    """The last word of an order's execution on its review task (the only ``.waitForTaskToken`` task)."""

    state: str  # TASK_*
    execution_status: str  # RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED
    error: str | None = None
    at: datetime | None = None


class StaleTaskToken(Exception):
    """The waiting task is gone (timed out, already answered, or its execution ended)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class PaymentStore(Protocol):
    """The payment items, one per order, as the payment functions' domain code reads and moves them: every
    write is conditional and says whether it took (lambdas.shared.adapters.payments.PaymentsTable; a test may
    pass any object with these methods)."""

    def get(self, order_id: str) -> dict[str, Any] | None:
        """The order's payment item, strongly consistent; None when it has none."""
        ...

    def create(self, item: dict[str, Any]) -> bool:
        """Write a new payment item; False when the order already has one (nothing is written)."""
        ...

    def update(
        self,
        order_id: str,
        expected_status: str,
        values: dict[str, Any],
        remove: tuple[str, ...] = (),
        expected: dict[str, Any] | None = None,
    ) -> bool:
        """SET ``values`` and REMOVE ``remove`` if the status is still ``expected_status`` (and each attribute in
        ``expected`` still has that value); False when it is not."""
        ...


class ReviewTaskCallbacks(Protocol):
    """Answers the execution waiting on a review's task token, and reads what became of that task
    (lambdas.shared.adapters.payments.ReviewCallbacks)."""

    def succeed(self, task_token: str, output: str) -> None:
        """Resume the task; StaleTaskToken when it no longer waits."""
        ...

    def fail(self, task_token: str, error: str, cause: str) -> None:
        """Fail the task with ``error``; StaleTaskToken when it no longer waits."""
        ...

    def review_task(self, order_id: str) -> ReviewTask | None:
        """What the order's execution last recorded about its review task; None without an execution."""
        ...
