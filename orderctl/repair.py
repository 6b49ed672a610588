"""repair and sweep: finish orders left mid-way (lambdas/sweeper does the same every 15 minutes).

``repair ORDER_ID`` redrives an order stalled after its commit point, finishes the compensation an
``Order.CompensationFailed`` order left undone (only the steps left, once: a second repair says
there is nothing left), and releases / voids what an order that will never finish still holds.
``sweep`` lists every stuck order; ``--repair`` repairs each of them as ``repair`` would.
"""

from __future__ import annotations

import getpass
from datetime import datetime

from lambdas.shared import constants
from lambdas.sweeper import logic, service
from lambdas.sweeper.adapters import SweeperAws
from orderctl import render
from orderctl.errors import OrderctlError
from orderctl.stack import DeployedStack, check_order_id

NOTHING_LEFT = "nothing left to repair"


def sweeper_aws(stack: DeployedStack) -> SweeperAws:
    """The sweeper's AWS, reached through the stack's outputs and its deployed workflow definition."""
    sfn = stack.client("stepfunctions")
    definition = sfn.describe_state_machine(stateMachineArn=stack.state_machine_arn)["definition"]
    functions = logic.task_functions(definition)
    missing = {logic.REFUND_STATE, logic.RELEASE_STATE} - set(functions)
    if missing:
        raise OrderctlError(
            f"the deployed workflow has no {', '.join(sorted(missing))} task", "redeploy the stack (`make deploy`)"
        )
    known = stack.subscribers()
    notifications = (
        stack.table(stack.subscriber_output("notifications", constants.OUTPUT_SUBSCRIBER_TABLE))
        if "notifications" in known
        else None
    )
    return SweeperAws(
        stepfunctions=sfn,
        lambda_client=stack.client("lambda"),
        sqs=stack.client("sqs"),
        events=stack.client("events"),
        payments=stack.table(stack.output(constants.OUTPUT_PAYMENTS_TABLE)),
        inventory=stack.table(stack.output(constants.OUTPUT_INVENTORY_TABLE)),
        ledger=stack.table(stack.output(constants.OUTPUT_LEDGER_TABLE)),
        repairs=stack.table(stack.output(logic.OUTPUT_REPAIRS_TABLE)),
        notifications=notifications,
        state_machine_arn=stack.state_machine_arn,
        functions={state: functions[state] for state in (logic.REFUND_STATE, logic.RELEASE_STATE)},
    )


def _who() -> str:
    return f"orderctl:{getpass.getuser()}"


def _outcome_lines(outcome: logic.Outcome, dry_run: bool) -> list[str]:
    finding = outcome.finding
    lines = [f"  {finding.kind}: {finding.detail}"]
    lines += [f"    {line}" for line in outcome.did]
    if outcome.error:
        lines.append(f"    not finished: {outcome.error}")
    elif finding.action is None or (not outcome.did and not outcome.repaired and not dry_run):
        lines.append(f"    needs a person: {finding.hint}")
    return lines


def repair(stack: DeployedStack, order_id: str, dry_run: bool = False, now: datetime | None = None) -> render.Output:
    now = now or stack.now()  # the account's time, which the items' and executions' times are on
    aws = sweeper_aws(stack)
    execution, outcomes = service.repair_order(aws, check_order_id(order_id), _who(), now, dry_run)
    status = execution.status if execution else None
    data = {
        "orderId": order_id,
        "executionStatus": status,
        "dryRun": dry_run,
        "nothingLeft": not outcomes,
        "outcomes": [o.as_dict() for o in outcomes],
    }
    if execution is not None and execution.status == logic.RUNNING:
        text = f"Order {order_id} is RUNNING: {NOTHING_LEFT} (the workflow is still working on it)."
        return render.Output(data, text)
    if not outcomes:
        where = f"execution {status}" if status else "no execution of that name"
        return render.Output(data, f"Order {order_id}: {NOTHING_LEFT} ({where}).")
    left = [o for o in outcomes if not o.repaired]
    if dry_run:
        headline = f"Order {order_id}: would repair (dry run, nothing changed):"
    elif left:
        headline = f"Order {order_id}: {len(left)} of {len(outcomes)} still need repair:"
    else:
        headline = f"Repaired order {order_id}:"
    text = "\n".join([headline, *(line for o in outcomes for line in _outcome_lines(o, dry_run))])
    return render.Output(data, text, ok=dry_run or not left)


def sweep(stack: DeployedStack, repair_them: bool = False, now: datetime | None = None) -> render.Output:
    """Every stuck order; with ``repair_them``, each repaired (every action: a person asked)."""
    now = now or stack.now()  # the account's time, which the items' and executions' times are on
    actions = frozenset(logic.Action) if repair_them else frozenset()
    outcomes = service.sweep(sweeper_aws(stack), now, actions, _who())
    data = [o.as_dict() for o in outcomes]
    if not outcomes:
        return render.Output(data, "No stuck order: nothing left to repair.")
    rows = [
        (
            o.finding.kind,
            o.finding.order_id,
            render.when(o.finding.since, now) if o.finding.since else "-",
            _result(o, repair_them),
            o.finding.detail,
        )
        for o in outcomes
    ]
    left = [o for o in outcomes if not o.repaired]
    lines = [
        f"{len(outcomes)} stuck, {len(outcomes) - len(left)} repaired, {len(left)} left:",
        render.table(("KIND", "ORDER", "SINCE", "ACTION", "DETAIL"), rows),
    ]
    hints = {o.finding.hint for o in left if o.finding.hint}
    if hints:
        lines += ["", "What to do:", *(f"  {hint}" for hint in sorted(hints))]
    if not repair_them and any(o.finding.action for o in outcomes):
        lines += ["", "Repair them: orderctl sweep --repair (or one: orderctl repair <orderId>)"]
    return render.Output(data, "\n".join(lines), ok=not left)


def _result(outcome: logic.Outcome, repairing: bool) -> str:
    action = str(outcome.finding.action) if outcome.finding.action else "report"
    if outcome.repaired:
        return f"{action}: done"
    if outcome.error:
        return f"{action}: failed"
    return action if not repairing or outcome.finding.action is None else f"{action}: not done"
