"""What an order must end in, given its path and the faults planned for it.

This is the specification the randomized suites hold the system to, written from the README's
promises rather than read back from the ASL:

- a transient fault (throttling, a service error, a timeout) that fails a step no more often than
  that step's retry budget is absorbed: the order ends as it would have without it;
- a fault that outlasts the budget (or a crash, i.e. a bug, in a step that does not retry everything)
  ends the order in that step's error, after compensation: release what was held, refund or void what
  was charged, publish OrderFailed;
- a compensation step that cannot be completed ends the order in Order.CompensationFailed (alarmed,
  a person must look), with nothing published.

Only the retry budgets (how many attempts a step gets) are read from the deployed definition: how
generous to be is a tuning choice; *which* faults are transient is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambdas.shared import constants
from sandbox import scenarios
from sandbox.faults import TRANSIENT_KINDS, Budget, Fault, Kind, function_key

SUCCEEDED, FAILED = "SUCCEEDED", "FAILED"
UNDELIVERABLE = "undeliverable"

VALIDATE, RESERVE, PRICE, COLLECT = "validate_order", "reserve_stock", "price_order", "collect_payment"
REVIEW, RECORD, REFUND, RELEASE = "request_payment_review", "record_accounting", "refund_payment", "release_stock"
COMPENSATION = (REFUND, RELEASE)
# The reference error a step's transient retrier must cover (every Lambda task has one).
REFERENCE_TRANSIENT_ERROR = "Lambda.ServiceException"
# A callback task's TimeoutSeconds is the review timeout: its invoke cannot time out on its own.
CALLBACK_KINDS = tuple(k for k in TRANSIENT_KINDS if k not in (Kind.TASK_TIMEOUT, Kind.LOST_REPLY))

# path -> (the task functions it runs forward, the business error its last one ends in, or None)
PATHS: dict[str, tuple[tuple[str, ...], str | None]] = {
    scenarios.HAPPY: ((VALIDATE, RESERVE, PRICE, COLLECT, RECORD), None),
    scenarios.REVIEW_APPROVED: ((VALIDATE, RESERVE, PRICE, COLLECT, REVIEW, RECORD), None),
    scenarios.REVIEW_REJECTED: ((VALIDATE, RESERVE, PRICE, COLLECT, REVIEW), constants.ERROR_REVIEW_REJECTED),
    scenarios.REVIEW_TIMED_OUT: ((VALIDATE, RESERVE, PRICE, COLLECT, REVIEW), constants.ERROR_REVIEW_TIMED_OUT),
    scenarios.DECLINED: ((VALIDATE, RESERVE, PRICE, COLLECT), constants.ERROR_PAYMENT_DECLINED),
    scenarios.PRICE_MISMATCH: ((VALIDATE, RESERVE, PRICE), constants.ERROR_PRICE_MISMATCH),
    scenarios.OUT_OF_STOCK: ((VALIDATE, RESERVE), constants.ERROR_OUT_OF_STOCK),
    UNDELIVERABLE: ((VALIDATE, RESERVE), constants.ERROR_UNDELIVERABLE),
    scenarios.INVALID: ((VALIDATE,), constants.ERROR_INVALID),
}
# What a failure at (after) each forward step has to undo.
COMPENSATES: dict[str, tuple[str, ...]] = {
    VALIDATE: (),
    RESERVE: (RELEASE,),
    PRICE: (RELEASE,),
    COLLECT: COMPENSATION,
    REVIEW: COMPENSATION,
    RECORD: COMPENSATION,  # after CancelShipment
}


@dataclass(frozen=True)
class Expected:
    status: str
    error: str | None
    published: str | None  # the workflow's event for the order: OrderCompleted, OrderFailed or None

    @property
    def compensation_failed(self) -> bool:
        return self.error == constants.ERROR_COMPENSATION_FAILED


def fatal(fault: Fault, budget: Budget) -> bool:
    """Does the fault outlast the step's retries?"""
    if fault.permanent:
        return True
    if fault.kind in (Kind.CRASH, Kind.CRASH_AFTER) and not budget.retries_everything:
        return True  # a bug is not retried, except where everything is
    return (fault.times or 0) > budget.retries


def expect(path: str, faults: Mapping[str, Fault], budgets: Mapping[str, Budget]) -> Expected:
    steps, business_error = PATHS[path]
    failed_at, error = steps[-1], business_error
    for step in steps:
        fault = faults.get(step)
        if fault is not None and fatal(fault, budgets[step]):
            # A Fail state may not report a States.* error: the ASL names a step that kept timing out.
            failed_at = step
            error = constants.ERROR_STEP_TIMED_OUT if fault.error == "States.Timeout" else fault.error
            break
    if error is None:
        return Expected(SUCCEEDED, None, constants.EVENT_ORDER_COMPLETED)
    if failed_at == VALIDATE:
        return Expected(FAILED, error, None)  # RejectOrder: nothing was done, nothing is published
    for step in COMPENSATES[failed_at]:
        fault = faults.get(step)
        if fault is not None and fatal(fault, budgets[step]):
            return Expected(FAILED, constants.ERROR_COMPENSATION_FAILED, None)
    return Expected(FAILED, error, constants.EVENT_ORDER_FAILED)


def functions_on(path: str) -> tuple[str, ...]:
    """The task functions an order on `path` may run, compensation included."""
    steps, _ = PATHS[path]
    return steps if steps == (VALIDATE,) else (*steps, *COMPENSATION)


def subscribers_for(published: str | None) -> tuple[str, ...]:
    """The subscribers (function keys) that receive the workflow's event."""
    if published == constants.EVENT_ORDER_COMPLETED:
        return (
            "subscribers.inventory",
            "subscribers.analytics",
            "subscribers.audit",
            "subscribers.notifications",
        )
    if published == constants.EVENT_ORDER_FAILED:
        return ("subscribers.audit", "subscribers.failure_stats")
    return ()


def task_budgets(definition: Mapping[str, Any]) -> dict[str, Budget]:
    """{function key: Budget} for every Lambda task in the ASL: the retrier that covers the reference
    transient error gives the budget; a Retry on States.ALL retries crashes too."""
    budgets: dict[str, Budget] = {}
    for state in definition["States"].values():
        placeholder = state.get("Parameters", {}).get("FunctionName", "")
        key = placeholder.removeprefix("${").removesuffix("}")
        if state.get("Type") != "Task" or key not in constants.TASK_FUNCTIONS:
            continue
        retrier = next(
            (r for r in state.get("Retry", []) if {REFERENCE_TRANSIENT_ERROR, "States.ALL"} & set(r["ErrorEquals"])),
            None,
        )
        callback = state["Resource"].endswith(".waitForTaskToken")
        budgets[function_key(constants.TASK_FUNCTIONS[key])] = Budget(
            retries=int(retrier.get("MaxAttempts", 3)) if retrier else 0,
            kinds=CALLBACK_KINDS if callback else TRANSIENT_KINDS,
            retries_everything=bool(retrier) and "States.ALL" in retrier["ErrorEquals"],
        )
    return budgets
