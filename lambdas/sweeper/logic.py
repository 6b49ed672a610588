"""What is stuck, and what repairs it: pure decisions over data the adapters read.

An item is *stuck* when it sits in an intermediate state (payment CHARGING or REVIEW_PENDING, stock
HELD, a notification SENDING claim) and nothing running will ever move it: the order's execution
(execution name = order id) is not RUNNING. An execution is stuck when it FAILED with
``Order.CompensationFailed`` (compensation left work undone) or stopped at a post-commit task state
("stalled after commit", see /docs and the README: after NotifyWarehouse nothing is undone, a
redrive finishes it).

Whether an order *committed* (the warehouse was told to ship) decides every repair: before the
commit point a stuck hold or payment is given back (what compensation would have done); after it,
nothing is ever refunded or released here: the execution is redriven, or a person looks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, NamedTuple

from lambdas.shared import constants
from lambdas.shared.payment_status import CHARGING

# -- names and tunables (defined here once; infra/sweeper.py and orderctl read them) -------------
SWEEP_INTERVAL_MINUTES: Final = 15
# An item younger than this is left alone: an execution that has only just ended may still have a
# late Lambda write in flight (a task timed out in Step Functions' view but its function ran on, for
# at most its own timeout), and scans and ListExecutions are eventually consistent.
GRACE_SECONDS: Final = 10 * 60
# Stock of a SUCCEEDED order is sold by the inventory subscriber, which EventBridge and Lambda retry
# for up to the subscriber's maximum event age: only after that is a HELD hold of it stuck.
COMPLETED_HOLD_GRACE_SECONDS: Final = constants.SUBSCRIBER_MAX_EVENT_AGE_SECONDS + GRACE_SECONDS
# A repair claims the order for this long: a second repair meanwhile (the scheduled sweep while an
# operator runs `orderctl repair`) is told one is in progress instead of repeating the steps.
REPAIR_LEASE_SECONDS: Final = 5 * 60
# Repair records outlive the execution history they describe (Step Functions keeps 90 days).
REPAIR_RECORD_TTL_DAYS: Final = 120

HANDLER: Final = "lambdas.sweeper.handler.handler"
OUTPUT_REPAIRS_TABLE: Final = "RepairsTableName"
ENV_REPAIRS_TABLE: Final = "REPAIRS_TABLE_NAME"
ENV_NOTIFICATIONS_TABLE: Final = "NOTIFICATIONS_TABLE_NAME"
ENV_REFUND_FUNCTION: Final = "REFUND_PAYMENT_FUNCTION"
ENV_RELEASE_FUNCTION: Final = "RELEASE_STOCK_FUNCTION"
ENV_AUTO_REPAIR: Final = "AUTO_REPAIR"
METRIC_REPAIRED: Final = "SweeperRepairs"

# The workflow's states and error names this module reasons about (statemachines/order_workflow.asl.json).
POST_COMMIT_STATES: Final = ("RecordAccounting", "PublishOrderCompleted")
REFUND_STATE: Final = "RefundPayment"
RELEASE_STATE: Final = "ReleaseStock"
# $.compensation.<step> -> the state that runs it.
COMPENSATION_STEPS: Final[dict[str, str]] = {
    "cancelShipment": "CancelShipment",
    "refundPayment": REFUND_STATE,
    "releaseStock": RELEASE_STATE,
    "publishOrderFailed": "PublishOrderFailed",
}
RUNNING: Final = "RUNNING"
SUCCEEDED: Final = "SUCCEEDED"


class Kind(StrEnum):
    PAYMENT_CHARGING = "payment-charging"
    REVIEW_PENDING = "review-pending"
    STOCK_HELD = "stock-held"
    SEND_CLAIM_EXPIRED = "send-claim-expired"
    COMPENSATION_FAILED = "compensation-failed"
    STALLED_AFTER_COMMIT = "stalled-after-commit"


# One CloudWatch metric per kind: how many of that kind are left after the run (0 when none), so an
# alarm on it means "a person is needed" and clears once repaired.
METRICS: Final[dict[Kind, str]] = {
    Kind.PAYMENT_CHARGING: "StuckPaymentsCharging",
    Kind.REVIEW_PENDING: "StuckReviewsPending",
    Kind.STOCK_HELD: "StuckStockHeld",
    Kind.SEND_CLAIM_EXPIRED: "ExpiredSendClaims",
    Kind.COMPENSATION_FAILED: "OrdersCompensationFailed",
    Kind.STALLED_AFTER_COMMIT: "OrdersStalledAfterCommit",
}


class Action(StrEnum):
    RELEASE_STOCK = "release-stock"  # invoke the ReleaseStock function (idempotent)
    VOID_PAYMENT = "void-payment"  # invoke the RefundPayment function: CHARGING/REVIEW_PENDING -> VOIDED
    FINISH_COMPENSATION = "finish-compensation"  # re-run only the compensation steps that failed
    REDRIVE = "redrive"  # RedriveExecution: re-runs the post-commit state that failed


# What the scheduled sweeper repairs on its own: every step is idempotent and is exactly what the
# workflow itself decided to do (the order failed before its commit point, or its compensation was
# already under way). A redrive is left to a person: a stalled order's cause (a missing bus, a broken
# deployment) must be fixed first, or each redrive burns its durable retries again.
AUTO_REPAIR: Final = frozenset({Action.RELEASE_STOCK, Action.VOID_PAYMENT, Action.FINISH_COMPENSATION})


class Execution(NamedTuple):
    """What the sweeper needs of an order's execution (None where the order has none)."""

    order_id: str
    status: str  # RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED
    stopped: datetime | None = None
    error: str | None = None
    redrive_count: int = 0


class Finding(NamedTuple):
    kind: Kind
    order_id: str
    detail: str  # one line a person reads
    action: Action | None  # None: report only (a person decides; `hint` says how)
    hint: str = ""
    since: datetime | None = None

    @property
    def auto(self) -> bool:
        return self.action in AUTO_REPAIR

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "orderId": self.order_id,
            "detail": self.detail,
            "action": str(self.action) if self.action else None,
            "autoRepair": self.auto,
            "hint": self.hint,
            "since": self.since.isoformat() if self.since else None,
        }


# -- execution history ----------------------------------------------------------------------------
def _entered(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    details = event.get("stateEnteredEventDetails")
    return details if isinstance(details, Mapping) else None


def unfinished_state(history: Sequence[Mapping[str, Any]]) -> str | None:
    """The state the execution stopped in: the last one entered without a matching Exited event
    (what RedriveExecution restarts from)."""
    open_states: list[str] = []
    for event in history:
        if (entered := _entered(event)) is not None:
            open_states.append(str(entered["name"]))
        elif isinstance(exited := event.get("stateExitedEventDetails"), Mapping):
            name = str(exited["name"])
            if name in open_states:
                del open_states[len(open_states) - 1 - open_states[::-1].index(name)]
    return open_states[-1] if open_states else None


def committed(history: Sequence[Mapping[str, Any]]) -> bool:
    """The warehouse was told to ship: a post-commit state was entered (only NotifyWarehouse's
    success leads there)."""
    return any((e := _entered(event)) is not None and e["name"] in POST_COMMIT_STATES for event in history)


class Step(NamedTuple):
    """A compensation step left undone, and how the workflow ran it (its last TaskScheduled)."""

    name: str  # cancelShipment, refundPayment, releaseStock, publishOrderFailed
    state: str
    error: str
    cause: str
    resource: str | None = None  # "lambda:invoke", "sqs:sendMessage", "events:putEvents"
    parameters: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.name, "state": self.state, "error": self.error, "cause": self.cause}


class CompensationLeft(NamedTuple):
    original_error: str | None
    steps: tuple[Step, ...] = ()


def compensation_left(history: Sequence[Mapping[str, Any]]) -> CompensationLeft:
    """The steps of ``$.compensation`` that recorded an Error, from the last state input holding it,
    each with the parameters the workflow scheduled it with (re-sending those repeats the step
    exactly: same function and payload, same queue, group and deduplication id, same event)."""
    compensation: Mapping[str, Any] = {}
    failure: Mapping[str, Any] = {}
    scheduled: dict[str, tuple[str, dict[str, Any]]] = {}
    state: str | None = None
    for event in history:
        if (entered := _entered(event)) is not None:
            state = str(entered["name"])
            document = _json(entered.get("input"))
            if isinstance(document, Mapping) and isinstance(document.get("compensation"), Mapping):
                compensation = document["compensation"]
                failed = document.get("failure")
                failure = failed if isinstance(failed, Mapping) else {}
        elif isinstance(details := event.get("taskScheduledEventDetails"), Mapping) and state is not None:
            parameters = _json(details.get("parameters"))
            resource = f"{details.get('resourceType')}:{details.get('resource')}"
            scheduled[state] = (resource, parameters if isinstance(parameters, dict) else {})
    steps = []
    for name, state_name in COMPENSATION_STEPS.items():
        outcome = compensation.get(name)
        if isinstance(outcome, Mapping) and "Error" in outcome:
            resource, parameters = scheduled.get(state_name, ("", {}))
            steps.append(
                Step(
                    name,
                    state_name,
                    str(outcome["Error"]),
                    str(outcome.get("Cause", "")),
                    resource or None,
                    parameters if resource else None,
                )
            )
    return CompensationLeft(str(failure["Error"]) if "Error" in failure else None, tuple(steps))


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


# A deployed definition names the stack's partition: arn:aws:, arn:aws-cn:, arn:aws-us-gov:.
_LAMBDA_INVOKE = re.compile(r"^arn:[\w-]+:states:::lambda:invoke")


def task_functions(definition: str) -> dict[str, str]:
    """{state name: function ARN} of the deployed definition's Lambda task states."""
    states = json.loads(definition).get("States", {})
    return {
        name: str(state["Parameters"]["FunctionName"])
        for name, state in states.items()
        if _LAMBDA_INVOKE.match(str(state.get("Resource", "")))
        and isinstance(state.get("Parameters", {}).get("FunctionName"), str)
    }


# -- classification ------------------------------------------------------------------------------
def failed_execution_finding(
    execution: Execution, history: Sequence[Mapping[str, Any]], repaired: bool
) -> Finding | None:
    """A FAILED execution that needs repair, or None (a business outcome, or already repaired)."""
    if execution.status != "FAILED" or repaired:
        return None
    if execution.error == constants.ERROR_COMPENSATION_FAILED:
        left = compensation_left(history)
        names = ", ".join(step.name for step in left.steps) or "nothing recorded"
        return Finding(
            Kind.COMPENSATION_FAILED,
            execution.order_id,
            f"failed with {left.original_error or 'an error'}; compensation left undone: {names}",
            Action.FINISH_COMPENSATION,
            f"python -m orderctl repair {execution.order_id}",
            execution.stopped,
        )
    stopped_in = unfinished_state(history)
    if stopped_in in POST_COMMIT_STATES:
        return Finding(
            Kind.STALLED_AFTER_COMMIT,
            execution.order_id,
            f"stopped in {stopped_in} after the commit point with {execution.error}",
            Action.REDRIVE,
            f"fix the cause ({execution.error}), then: python -m orderctl repair {execution.order_id}",
            execution.stopped,
        )
    return None


def execution_kind(execution: Execution | None, history: Sequence[Mapping[str, Any]]) -> Kind | None:
    """The execution-level kind that already covers an order's stuck items (they are its symptoms)."""
    if execution is None or execution.status != "FAILED":
        return None
    if execution.error == constants.ERROR_COMPENSATION_FAILED:
        return Kind.COMPENSATION_FAILED
    return Kind.STALLED_AFTER_COMMIT if unfinished_state(history) in POST_COMMIT_STATES else None


class OrderItems(NamedTuple):
    """An order's items in an intermediate state, as the scans found them."""

    order_id: str
    payment_status: str | None = None  # CHARGING or REVIEW_PENDING, else None
    payment_since: datetime | None = None
    held_lines: int = 0
    held_since: datetime | None = None


def item_findings(
    items: OrderItems,
    execution: Execution | None,
    is_committed: bool,
    covered: bool,
    now: datetime,
    ignore_grace: bool = False,
) -> list[Finding]:
    """Stuck payment / stock findings of one order.

    ``is_committed``: its history (or, with no execution, its ledger) shows the commit point passed.
    ``covered``: a CompensationFailed or stalled-after-commit finding of the same order covers them.
    ``ignore_grace``: a person asked about this order now (`orderctl repair`): no grace period.
    """
    if covered or (execution is not None and execution.status == RUNNING):
        return []
    order_id = items.order_id
    where = f"execution {execution.status}" if execution else "no execution"
    completed = is_committed or (execution is not None and execution.status == SUCCEEDED)
    found = []
    if items.payment_status and (ignore_grace or _old(items.payment_since, execution, now, GRACE_SECONDS)):
        kind = Kind.PAYMENT_CHARGING if items.payment_status == CHARGING else Kind.REVIEW_PENDING
        if completed:
            found.append(
                Finding(
                    kind,
                    order_id,
                    f"payment {items.payment_status} but the order passed its commit point ({where})",
                    None,
                    "a person reconciles it with the gateway's record: the money must stay captured, "
                    "never refunded (docs: the point of no return)",
                    items.payment_since,
                )
            )
        else:
            found.append(
                Finding(
                    kind,
                    order_id,
                    f"payment {items.payment_status} with {where}: never completed, to be voided",
                    Action.VOID_PAYMENT,
                    f"python -m orderctl repair {order_id}",
                    items.payment_since,
                )
            )
    grace = COMPLETED_HOLD_GRACE_SECONDS if completed else GRACE_SECONDS
    if items.held_lines and (ignore_grace or _old(items.held_since, execution, now, grace)):
        if completed:
            found.append(
                Finding(
                    Kind.STOCK_HELD,
                    order_id,
                    f"{items.held_lines} line(s) still HELD although the order completed ({where})",
                    None,
                    "the inventory subscriber sells it on OrderCompleted: "
                    "see its dead letters, then `python -m orderctl redrive inventory`",
                    items.held_since,
                )
            )
        else:
            found.append(
                Finding(
                    Kind.STOCK_HELD,
                    order_id,
                    f"{items.held_lines} line(s) HELD with {where}: to be released",
                    Action.RELEASE_STOCK,
                    f"python -m orderctl repair {order_id}",
                    items.held_since,
                )
            )
    return found


def _old(since: datetime | None, execution: Execution | None, now: datetime, grace_seconds: int) -> bool:
    """Past the grace period, counted from the later of the item's own time and the execution's end."""
    moments = [m for m in (since, execution.stopped if execution else None) if m is not None]
    return not moments or now - max(moments) >= timedelta(seconds=grace_seconds)


def claim_finding(order_id: str, lease_until: int, claimed_at: int, now: datetime, kind: str = "") -> Finding | None:
    """A notifications SENDING claim nobody will finish: its lease passed (the sender died, or failed
    after SES may have taken the message) or its run released it (``leaseUntil`` 0: SES never took it)
    and no retry claimed it again within the grace period. ``kind``: "" the confirmation e-mail (on
    OrderCompleted), else the tracking e-mail (on ShipmentAssigned)."""
    since = max(lease_until, claimed_at)
    if since + GRACE_SECONDS > now.timestamp():
        return None
    redrive = (
        "`python -m orderctl redrive notifications` (or `python -m orderctl replay notifications --from <its day>`)"
    )
    if lease_until == 0:
        hint = f"SES never took the message: hand the event over again, {redrive}"
    else:
        hint = f"SES may have sent it: check the SES sending log for the order first; if not sent, {redrive}"
    return Finding(
        Kind.SEND_CLAIM_EXPIRED,
        order_id,
        f"{'tracking e-mail (ShipmentAssigned)' if kind else 'confirmation e-mail'} claimed (SENDING), "
        "never marked sent, and nobody holds the claim",
        None,
        hint,
        datetime.fromtimestamp(since, tz=now.tzinfo),
    )


# -- the run's summary -----------------------------------------------------------------------------
class Outcome(NamedTuple):
    finding: Finding
    repaired: bool = False
    did: tuple[str, ...] = ()  # what the repair did, one line each
    error: str | None = None  # why the repair did not finish

    def as_dict(self) -> dict[str, Any]:
        return {**self.finding.as_dict(), "repaired": self.repaired, "did": list(self.did), "error": self.error}


def metric_values(outcomes: Iterable[Outcome]) -> dict[str, float]:
    """Every kind's metric (0 when none is left) plus how many were repaired this run."""
    values = {name: 0.0 for name in METRICS.values()}
    repaired = 0
    for outcome in outcomes:
        if outcome.repaired:
            repaired += 1
        else:
            values[METRICS[outcome.finding.kind]] += 1
    values[METRIC_REPAIRED] = float(repaired)
    return values


def should_repair(finding: Finding, actions: frozenset[Action]) -> bool:
    return finding.action is not None and finding.action in actions


def by_order(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.order_id, []).append(finding)
    return grouped
