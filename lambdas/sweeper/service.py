"""The sweeper's use cases, shared by the scheduled function and `orderctl sweep|repair`.

- ``find_stuck``: every stuck item and execution (see logic.py for what "stuck" means).
- ``sweep``: find, then repair the findings whose action is in ``actions`` (the scheduled sweeper
  passes logic.AUTO_REPAIR; `orderctl sweep --repair` every action).
- ``repair_order``: everything repairable of one order, whatever its kind (`orderctl repair`).

Every repair is idempotent: releasing and voiding go through the deployed ReleaseStock and
RefundPayment functions (conditional on the hold / payment status); a compensation repair re-sends
exactly what the workflow scheduled and records each step it finished in the repairs table
(ORDER#<id> / COMPENSATION), so a second repair finds nothing left. Nothing is ever done to an order
whose execution is RUNNING, and nothing is given back once an order passed its commit point.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from lambdas.shared import constants
from lambdas.shared.payment_status import CHARGING, REVIEW_PENDING
from lambdas.sweeper import logic
from lambdas.sweeper.adapters import DONE, SweeperAws


# -- finding ---------------------------------------------------------------------------------------
class _Found:
    __slots__ = ("executions", "findings")

    def __init__(self) -> None:
        self.findings: list[logic.Finding] = []
        self.executions: dict[str, logic.Execution] = {}


def _execution_findings(aws: SweeperAws, now: datetime) -> _Found:
    found = _Found()
    failed = list(aws.failed_executions())
    verdicts = aws.verdicts(failed)
    for listed in failed:
        kind = verdicts.get(listed.order_id)
        if kind is None:  # not examined yet: once per failed execution (and per redrive)
            examined = aws.execution(listed.order_id) or listed
            verdict = logic.execution_kind(examined, _tail_if_needed(aws, examined))
            kind = str(verdict or "")
            aws.put_verdict(examined, kind, now)
        if not kind:
            continue
        execution = aws.execution(listed.order_id)
        if execution is None or execution.status != "FAILED":
            continue
        finding = _failed_finding(aws, execution)
        if finding is not None:
            found.findings.append(finding)
            found.executions[execution.order_id] = execution
    return found


def _tail_if_needed(aws: SweeperAws, execution: logic.Execution) -> list[dict[str, Any]]:
    if execution.status != "FAILED" or execution.error == constants.ERROR_COMPENSATION_FAILED:
        return []
    return aws.history_tail(execution.order_id)


def _failed_finding(aws: SweeperAws, execution: logic.Execution) -> logic.Finding | None:
    if execution.error == constants.ERROR_COMPENSATION_FAILED:
        record = aws.repair_record(execution.order_id)
        repaired = record is not None and record.get("status") == DONE
        history = [] if repaired else aws.history(execution.order_id)
        return logic.failed_execution_finding(execution, history, repaired)
    return logic.failed_execution_finding(execution, aws.history_tail(execution.order_id), False)


def _items(aws: SweeperAws) -> dict[str, logic.OrderItems]:
    orders: dict[str, logic.OrderItems] = {}
    for order_id, status, since in aws.stuck_payments():
        orders[order_id] = logic.OrderItems(order_id, payment_status=status, payment_since=since)
    held: dict[str, tuple[int, datetime | None]] = {}
    for order_id, since in aws.held_holds():
        lines, first = held.get(order_id, (0, None))
        held[order_id] = (lines + 1, min((m for m in (first, since) if m), default=None))
    for order_id, (lines, since) in held.items():
        base = orders.get(order_id, logic.OrderItems(order_id))
        orders[order_id] = logic.OrderItems(order_id, base.payment_status, base.payment_since, lines, since)
    return orders


def _item_findings(
    aws: SweeperAws, items: logic.OrderItems, covered: bool, now: datetime, ignore_grace: bool = False
) -> list[logic.Finding]:
    execution = aws.execution(items.order_id)
    if execution is not None and execution.status == logic.RUNNING:
        return []
    if execution is None:
        is_committed = aws.booked(items.order_id)
    elif execution.status == logic.SUCCEEDED:
        is_committed = True
    else:
        is_committed = logic.committed(aws.history(items.order_id))
    return logic.item_findings(items, execution, is_committed, covered, now, ignore_grace)


def find_stuck(aws: SweeperAws, now: datetime) -> list[logic.Finding]:
    """Every stuck execution and item, oldest first."""
    found = _execution_findings(aws, now)
    findings = list(found.findings)
    for order_id, items in sorted(_items(aws).items()):
        findings += _item_findings(aws, items, order_id in found.executions, now)
    for order_id, lease_until, claimed_at, kind in aws.expired_claims(now):
        if (claim := logic.claim_finding(order_id, lease_until, claimed_at, now, kind)) is not None:
            findings.append(claim)
    return sorted(findings, key=lambda f: (f.since is None, f.since or now, f.order_id, f.kind))


# -- repairing -------------------------------------------------------------------------------------
def _run_step(aws: SweeperAws, step: logic.Step) -> str:
    """Re-send one compensation step as the workflow scheduled it; returns what it did."""
    parameters = step.parameters
    if not parameters:
        raise RuntimeError(f"the history holds no scheduled {step.state} to repeat")
    if step.resource == "lambda:invoke":
        body, function_error = aws.invoke(str(parameters["FunctionName"]), parameters.get("Payload") or {})
        if function_error:
            message = body.get("errorMessage", body) if isinstance(body, dict) else body
            raise RuntimeError(f"{step.state} failed again: {message}")
        return f"{step.state}: {_summary(body)}"
    if step.resource == "sqs:sendMessage":
        message_id = aws.send_message(parameters)
        return f"{step.state}: sent (deduplication id {parameters.get('MessageDeduplicationId')}, message {message_id})"
    if step.resource == "events:putEvents":
        event_ids = aws.put_events(parameters)
        return f"{step.state}: published (event {', '.join(event_ids)})"
    raise RuntimeError(f"{step.state}: cannot repeat a {step.resource} task")


def _summary(body: Any) -> str:
    if isinstance(body, dict) and "status" in body:
        return f"payment {body['status']}"
    if isinstance(body, dict) and "releasedLines" in body:
        return f"released {len(body['releasedLines'])} line(s)"
    return "done"


def finish_compensation(
    aws: SweeperAws, order_id: str, by: str, now: datetime, dry_run: bool = False
) -> tuple[list[str], str | None, bool]:
    """Re-run only the compensation steps of a CompensationFailed order that are still left.

    Returns (what was done or, with dry_run, would be done; why it stopped or None; all done).
    """
    record = aws.repair_record(order_id) or {}
    if record.get("status") == DONE:
        return [], None, True
    finished = set(dict(record.get("steps") or {}))
    left = [s for s in logic.compensation_left(aws.history(order_id)).steps if s.name not in finished]
    if dry_run:
        return [f"would repeat {s.state} (failed with {s.error})" for s in left], None, not left
    if not aws.claim_repair(order_id, by, now):
        return [], "another repair of this order is in progress: try again in a few minutes", False
    did: list[str] = []
    errors: list[str] = []
    for step in left:  # independent, like the workflow's compensation: one failing does not stop the next
        try:
            line = _run_step(aws, step)
        except Exception as error:  # reported; the step stays left for the next repair
            errors.append(f"{step.state}: {error}")
            continue
        aws.record_step(order_id, step.name, line)
        did.append(line)
    aws.finish_repair(order_id, not errors, now)
    if not errors:
        execution = aws.execution(order_id)
        if execution is not None:
            aws.put_verdict(execution, "", now)  # repaired: later sweeps skip it
    return did, "; ".join(errors) or None, not errors


def _repair(aws: SweeperAws, finding: logic.Finding, by: str, now: datetime, dry_run: bool) -> logic.Outcome:
    order_id = finding.order_id
    if finding.action is logic.Action.FINISH_COMPENSATION:
        did, error, done = finish_compensation(aws, order_id, by, now, dry_run)
        return logic.Outcome(finding, done and not dry_run, tuple(did), error)
    execution = aws.execution(order_id)  # read again just before acting
    if execution is not None and execution.status == logic.RUNNING:
        return logic.Outcome(finding, False, (), "its execution is RUNNING again: left to it")
    if finding.action is logic.Action.REDRIVE:
        if dry_run:
            return logic.Outcome(finding, False, ("would redrive the execution",))
        aws.redrive(order_id)
        return logic.Outcome(finding, True, ("redrove the execution: it re-runs the state it stopped in",))
    state = logic.RELEASE_STATE if finding.action is logic.Action.RELEASE_STOCK else logic.REFUND_STATE
    if dry_run:
        return logic.Outcome(finding, False, (f"would invoke {state}",))
    body, function_error = aws.invoke(aws.functions[state], {"orderId": order_id})
    if function_error:
        message = body.get("errorMessage", body) if isinstance(body, dict) else body
        return logic.Outcome(finding, False, (), f"{state} failed: {message}")
    return logic.Outcome(finding, True, (f"{state}: {_summary(body)}",))


def repair(
    aws: SweeperAws,
    findings: Iterable[logic.Finding],
    actions: frozenset[logic.Action],
    by: str,
    now: datetime,
    dry_run: bool = False,
) -> list[logic.Outcome]:
    """Repair the findings whose action is in ``actions``; the others are only reported."""
    outcomes = []
    for finding in findings:
        if not logic.should_repair(finding, actions):
            outcomes.append(logic.Outcome(finding))
            continue
        try:
            outcomes.append(_repair(aws, finding, by, now, dry_run))
        except Exception as error:  # one order's failure must not stop the sweep
            outcomes.append(logic.Outcome(finding, False, (), f"{type(error).__name__}: {error}"))
    return outcomes


def sweep(
    aws: SweeperAws, now: datetime, actions: frozenset[logic.Action], by: str, dry_run: bool = False
) -> list[logic.Outcome]:
    return repair(aws, find_stuck(aws, now), actions, by, now, dry_run)


def order_findings(aws: SweeperAws, order_id: str, now: datetime) -> list[logic.Finding]:
    """What is stuck of one order right now (no grace period: a person asked)."""
    findings: list[logic.Finding] = []
    execution = aws.execution(order_id)
    if (
        execution is not None
        and execution.status == "FAILED"
        and (finding := _failed_finding(aws, execution)) is not None
    ):
        findings.append(finding)
    payment = aws.payment(order_id) or {}
    status = str(payment.get("status", ""))
    lines = aws.held_lines(order_id)
    items = logic.OrderItems(
        order_id,
        payment_status=status if status in (CHARGING, REVIEW_PENDING) else None,
        held_lines=lines,
    )
    if items.payment_status or items.held_lines:
        findings += _item_findings(aws, items, bool(findings), now, ignore_grace=True)
    return findings


def repair_order(
    aws: SweeperAws, order_id: str, by: str, now: datetime, dry_run: bool = False
) -> tuple[logic.Execution | None, list[logic.Outcome]]:
    """Everything repairable of one order (every action: a person asked for it)."""
    execution = aws.execution(order_id)
    if execution is not None and execution.status == logic.RUNNING:
        return execution, []
    findings = order_findings(aws, order_id, now)
    return execution, repair(aws, findings, frozenset(logic.Action), by, now, dry_run)
