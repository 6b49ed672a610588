"""What an order must end in, given its path and the faults planned for it.

The specification the randomized suites hold the system to is written apart from the code under test:
docs/SAGA-SPEC.md (what each failure must leave) and the README's retry table (how often each step is
retried, a throttled invoke's own budget, and what happens when its retries are spent), which ``STEPS``
parses. Nothing here reads the ASL: ``tests/infra/test_workflow_definition.py`` checks the ASL against the
same table instead.

- a fault that fails a step no more often than the step's retries allow is absorbed: the order ends as
  it would have without it;
- a fault that outlasts them (or a crash, i.e. a bug, in a step that retries transient errors only):
  - at ValidateOrder: the order is rejected, nothing to undo, nothing published;
  - before the commit point (NotifyWarehouse succeeded): compensation; every compensation step runs
    whatever happened to the one before; OrderFailed is published unless PublishOrderFailed itself is
    what failed; the order ends in the step's named error, or in Order.CompensationFailed when a
    compensation step could not finish;
  - after the commit point (RecordAccounting, PublishOrderCompleted): nothing is undone; the execution
    stops at that state with the step's error, for a redrive.

Steps are keyed by their Lambda function (``reserve_stock``) or, for service integrations, by their
state name (``NotifyWarehouse``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lambdas.shared import constants
from sandbox import scenarios
from sandbox.faults import TRANSIENT_KINDS, Budget, Fault, Kind

README = Path(__file__).resolve().parents[2] / "README.md"
SUCCEEDED, FAILED = "SUCCEEDED", "FAILED"
UNDELIVERABLE = "undeliverable"

VALIDATE, RESERVE, PRICE, COLLECT = "validate_order", "reserve_stock", "price_order", "collect_payment"
REVIEW, RECORD, REFUND, RELEASE = "wait_for_payment_review", "record_accounting", "refund_payment", "release_stock"
NOTIFY, PUBLISH_COMPLETED = "NotifyWarehouse", "PublishOrderCompleted"
CANCEL, PUBLISH_FAILED = "CancelShipment", "PublishOrderFailed"
INTEGRATIONS = (NOTIFY, PUBLISH_COMPLETED, CANCEL, PUBLISH_FAILED)
COMPENSATION = (CANCEL, REFUND, RELEASE, PUBLISH_FAILED)
COMMITTED = (RECORD, PUBLISH_COMPLETED)
# A callback task's TimeoutSeconds is the review timeout: its invoke cannot time out on its own.
CALLBACK_KINDS = tuple(k for k in TRANSIENT_KINDS if k not in (Kind.TASK_TIMEOUT, Kind.LOST_REPLY))

# path -> (the steps it runs forward, the business error its last one ends in, or None)
_TAIL = (NOTIFY, RECORD, PUBLISH_COMPLETED)
PATHS: dict[str, tuple[tuple[str, ...], str | None]] = {
    scenarios.HAPPY: ((VALIDATE, RESERVE, PRICE, COLLECT, *_TAIL), None),
    scenarios.REVIEW_APPROVED: ((VALIDATE, RESERVE, PRICE, COLLECT, REVIEW, *_TAIL), None),
    scenarios.REVIEW_REJECTED: ((VALIDATE, RESERVE, PRICE, COLLECT, REVIEW), constants.ERROR_REVIEW_REJECTED),
    scenarios.REVIEW_TIMED_OUT: ((VALIDATE, RESERVE, PRICE, COLLECT, REVIEW), constants.ERROR_REVIEW_TIMED_OUT),
    scenarios.DECLINED: ((VALIDATE, RESERVE, PRICE, COLLECT), constants.ERROR_PAYMENT_DECLINED),
    scenarios.PRICE_MISMATCH: ((VALIDATE, RESERVE, PRICE), constants.ERROR_PRICE_MISMATCH),
    scenarios.OUT_OF_STOCK: ((VALIDATE, RESERVE), constants.ERROR_OUT_OF_STOCK),
    UNDELIVERABLE: ((VALIDATE, RESERVE), constants.ERROR_UNDELIVERABLE),
    scenarios.INVALID: ((VALIDATE,), constants.ERROR_INVALID),
    # Channel orders (docs/SAGA-SPEC.md's channel rows): paid to the marketplace or the store, so CollectPayment
    # records PREPAID and charges nothing (RefundPayment, in compensation, leaves it so); a store's sale handed
    # over at the counter has no warehouse notice, no shipment, and nothing to cancel.
    scenarios.MARKETPLACE_SHIPPED: ((VALIDATE, RESERVE, PRICE, COLLECT, *_TAIL), None),
    scenarios.STORE_HANDED_OVER: ((VALIDATE, RESERVE, PRICE, COLLECT, RECORD, PUBLISH_COMPLETED), None),
}
# channel path -> the connector (lambdas/marketplaces/registry.py) its orders come through
CHANNEL_PATHS: dict[str, str] = {scenarios.MARKETPLACE_SHIPPED: "ebuy", scenarios.STORE_HANDED_OVER: "city_store"}
HANDED_OVER_PATHS = (scenarios.STORE_HANDED_OVER,)


@dataclass(frozen=True)
class StepSpec:
    state: str
    key: str  # the Lambda function key, or the state name of a service integration
    retried: str  # the README's words: "transient", "everything", "transient but timeouts (...)"
    retries: int
    throttle_retries: int  # a throttled invoke's (Lambda.TooManyRequestsException): a Retry of its own
    retries_everything: bool
    when_spent: str  # the README's words: "reject...", "compensate from <State>", "stop here...", "go on..."

    @property
    def budget(self) -> Budget:
        kinds = CALLBACK_KINDS if self.key == REVIEW else TRANSIENT_KINDS
        return Budget(
            self.retries, kinds, retries_everything=self.retries_everything, throttle_retries=self.throttle_retries
        )


def read_steps(readme: Path = README) -> dict[str, StepSpec]:
    """The README's retry table (between the RETRY-BUDGETS markers), by step key."""
    text = readme.read_text(encoding="utf-8")
    table = text.split("<!-- RETRY-BUDGETS -->", 1)[1].split("<!-- RETRY-BUDGETS:END -->", 1)[0]
    steps: dict[str, StepSpec] = {}
    for line in table.strip().splitlines()[2:]:
        cells = (cell.strip() for cell in line.strip().strip("|").split("|"))
        state, runs, retried, retries, throttle_retries, when_spent = cells
        key = state if re.fullmatch(r"\w+:\w+", runs) else runs
        everything = retried == "everything"
        steps[key] = StepSpec(state, key, retried, int(retries), int(throttle_retries), everything, when_spent)
    return steps


STEPS = read_steps()
COMPENSATES: dict[str, tuple[str, ...]] = {}
for _spec in STEPS.values():
    if _spec.when_spent.startswith("compensate from "):
        _first = next(s.key for s in STEPS.values() if s.state == _spec.when_spent.removeprefix("compensate from "))
        COMPENSATES[_spec.key] = COMPENSATION[COMPENSATION.index(_first) :]


def budgets() -> dict[str, Budget]:
    """{step key: Budget} for every step of the workflow, from the README's table."""
    return {key: spec.budget for key, spec in STEPS.items()}


@dataclass(frozen=True)
class Expected:
    status: str
    error: str | None
    published: str | None  # the workflow's event for the order: OrderCompleted, OrderFailed or None
    stalled_at: str | None = None  # after the commit point: the state the execution stopped at
    left: tuple[str, ...] = ()  # compensation steps that could not finish (for a repair)

    @property
    def compensation_failed(self) -> bool:
        return self.error == constants.ERROR_COMPENSATION_FAILED

    @property
    def needs_repair(self) -> bool:
        return self.stalled_at is not None or bool(self.left)


def fatal(fault: Fault, budget: Budget) -> bool:
    """Does the fault outlast the step's retries?"""
    if fault.permanent:
        return True
    if fault.kind in (Kind.CRASH, Kind.CRASH_AFTER) and not budget.retries_everything:
        return True  # a bug is not retried, except where everything is
    throttled = fault.kind is Kind.THROTTLE and budget.throttle_retries is not None
    return (fault.times or 0) > (budget.throttle_retries if throttled else budget.retries)


def named(error: str) -> str:
    """The name a Fail state reports for a step's error: a Fail state may not report States.*."""
    if error == "States.Timeout":
        return constants.ERROR_STEP_TIMED_OUT
    if error.startswith("States."):
        return constants.ERROR_STEP_FAILED
    return error


def expect(path: str, faults: Mapping[str, Fault], budgets: Mapping[str, Budget]) -> Expected:
    steps, business_error = PATHS[path]
    failed_at, error = steps[-1], business_error
    for step in steps:
        fault = faults.get(step)
        if fault is not None and fatal(fault, budgets[step]):
            failed_at, error = step, fault.error
            break
    if error is None:
        return Expected(SUCCEEDED, None, constants.EVENT_ORDER_COMPLETED)
    if failed_at in COMMITTED:  # no Catch: the execution fails at the state, with the step's own error
        published = constants.EVENT_ORDER_COMPLETED if failed_at == PUBLISH_COMPLETED else None
        return Expected(FAILED, error, published if _may_have_put(faults.get(failed_at)) else None, failed_at)
    if failed_at == VALIDATE:
        return Expected(FAILED, named(error), None)  # RejectOrder: nothing was done, nothing is published
    left = tuple(
        step for step in COMPENSATES[failed_at] if (f := faults.get(step)) is not None and fatal(f, budgets[step])
    )
    published = None if PUBLISH_FAILED in left else constants.EVENT_ORDER_FAILED
    return Expected(FAILED, constants.ERROR_COMPENSATION_FAILED if left else named(error), published, left=left)


def _may_have_put(fault: Fault | None) -> bool:
    """A fault that lets the call happen before failing (a lost reply) may have put the event."""
    return fault is not None and fault.committed


def functions_on(path: str) -> tuple[str, ...]:
    """The steps an order on `path` may run, compensation included."""
    steps, _ = PATHS[path]
    return steps if steps == (VALIDATE,) else (*steps, *(s for s in COMPENSATION if s not in steps))


def ships(path: str) -> bool:
    """Does an order on `path` send a parcel (all but a store's sale handed over at the counter)?"""
    return path not in HANDED_OVER_PATHS


def subscribers_for(published: str | None, shipped: bool = True) -> tuple[str, ...]:
    """The subscribers (function keys) that receive an event about an order: the workflow's own, and
    ShipmentAssigned, which logistics publishes for each shipped completed order."""
    if published == constants.EVENT_ORDER_COMPLETED:
        return (
            "subscribers.inventory",
            "subscribers.analytics",
            "subscribers.audit",
            "subscribers.notifications",
            # books a carrier for a shipped order and publishes ShipmentAssigned; its rule passes shipped orders only
            *(("subscribers.logistics",) if shipped else ()),
        )
    if published == constants.EVENT_ORDER_FAILED:
        return ("subscribers.audit", "subscribers.failure_stats")
    if published == constants.EVENT_SHIPMENT_ASSIGNED:  # logistics' reaction: the tracking e-mail, the trail
        return ("subscribers.audit", "subscribers.notifications")
    return ()
