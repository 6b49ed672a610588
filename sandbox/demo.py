"""`make demo`: deploy cdk.out into the sandbox and run a batch of orders down every path.

What a newcomer sees is explained in the README (section "The sandbox"). The demo checks what it shows: it exits 1
when an order ends differently from what its path promises, a delivery failed, a dead-letter queue
is not empty or the audit chain does not verify.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date
from pathlib import Path
from typing import Any, TextIO

from lambdas.shared import constants
from lambdas.shared.pricing import Pricing
from lambdas.subscribers.analytics.logic import MIN_ORDERS_TO_COMPARE
from sandbox import backoffice, observe, scenarios
from sandbox.account import Sandbox
from sandbox.deploy import DeployError, template_path
from sandbox.moto_fixes import FIXES, MOTO_VERSION
from sandbox.runner import OrderResult

REVIEWERS = {"approve": "alice@example.com", "reject": "bob@example.com"}


@dataclass
class DemoOutcome:
    results: list[tuple[scenarios.Scenario, OrderResult]]
    orders_seconds: float
    wall_seconds: float
    cpu_seconds: float = 0.0  # process CPU over the orders phase: comparable across loaded machines
    problems: list[str] = field(default_factory=list)
    channel_results: list[tuple[scenarios.ChannelScenario, OrderResult]] = field(default_factory=list)

    @property
    def orders_per_second(self) -> float:
        return len(self.results) / self.orders_seconds if self.orders_seconds else 0.0


class Progress:
    """Phase lines, and a status line that updates in place on a terminal."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self._started = time.monotonic()
        self._status = ""

    def step(self, text: str) -> None:
        self._clear()
        self.out.write(f"[{time.monotonic() - self._started:5.1f}s] {text}\n")
        self.out.flush()

    def status(self, text: str) -> None:
        if self.tty and text != self._status:
            self._clear()
            self.out.write(f"        {text}")
            self.out.flush()
            self._status = text

    def _clear(self) -> None:
        if self.tty and self._status:
            self.out.write("\r\033[K")
            self._status = ""


def deployed_pricing(sandbox: Sandbox) -> Pricing:
    """The pricing the stack deploys (PriceOrder's PRICING_JSON): what the storefront shows."""
    variables = sandbox.environment_of(constants.TASK_FUNCTIONS["PriceOrderFunctionArn"])
    return Pricing.from_config(json.loads(variables[constants.ENV_PRICING]))


def review_timeout_seconds(sandbox: Sandbox) -> int:
    """The stack's review timeout (CollectPayment's REVIEW_TIMEOUT_SECONDS, from reviewTimeoutHours)."""
    variables = sandbox.environment_of(constants.TASK_FUNCTIONS["CollectPaymentFunctionArn"])
    return int(variables[constants.ENV_REVIEW_TIMEOUT_SECONDS])


def run_orders(sandbox: Sandbox, batch: list[scenarios.Scenario], progress: Progress) -> list[OrderResult]:
    """Start the batch at once; reviewers decide; the review timeout passes on the sandbox clock."""
    runner = sandbox.runner()
    progress.step(f"starting {len(batch)} orders at once (execution name = orderId)")
    arns = {s.order_id: runner.start(s.order) for s in batch}
    for scenario in batch:
        if scenario.reviewer_decision:
            runner.wait_for_task_token(scenario.order_id)
            reviewer = REVIEWERS[scenario.reviewer_decision]
            runner.decide_review(scenario.order_id, scenario.reviewer_decision, reviewer, note="checked in the demo")
            progress.step(
                f"{scenario.order_id} waits for a payment review: {reviewer} decides '{scenario.reviewer_decision}' "
                "(invokes decide_payment_review, as from the Lambda console)"
            )
    unattended = [arns[s.order_id] for s in batch if s.path == scenarios.REVIEW_TIMED_OUT]

    def show(finished: int, total: int) -> None:
        progress.status(f"orders finished: {finished}/{len(arns)}")

    runner.wait([a for a in arns.values() if a not in unattended], 120.0, show)
    if unattended:
        timeout = review_timeout_seconds(sandbox)
        progress.step(
            f"nobody reviews {len(unattended)} order(s): the sandbox clock jumps {timeout / 3600:g} h "
            "(the stack's review timeout), instantly"
        )
        sandbox.clock.advance(timeout + 1)
    runner.wait(arns.values(), 120.0, show)
    progress.step("all orders finished; waiting for the subscribers (EventBridge delivers asynchronously)")
    sandbox.drain()
    return [runner.result(arns[s.order_id]) for s in batch]


def run_channel_orders(
    sandbox: Sandbox, batch: list[scenarios.ChannelScenario], progress: Progress
) -> list[tuple[scenarios.ChannelScenario, OrderResult]]:
    """Marketplace and store orders: each connector is invoked with the marketplace's own order (as its webhook
    or till would); the intake subscriber starts the workflow; a redelivery comes after the first has finished."""
    runner = sandbox.runner()
    firsts = [s for s in batch if s.path != scenarios.MARKETPLACE_REDELIVERY]
    progress.step(
        f"{len(firsts)} orders arrive from a marketplace and a store: their connectors put MarketplaceOrderReceived "
        "on the bus; the intake subscriber starts each as an order (execution name = <marketplace>-<their id>)"
    )
    for scenario in firsts:
        _invoke_connector(sandbox, scenario)
    sandbox.drain()
    runner.wait([runner.execution_arn(s.order_id) for s in firsts], 120.0)
    sandbox.drain()
    for scenario in batch:
        if scenario.path == scenarios.MARKETPLACE_REDELIVERY:
            progress.step(f"the marketplace sends {scenario.order_id} again (a redelivery): nothing may change")
            _invoke_connector(sandbox, scenario)
    sandbox.drain()
    return [(s, runner.result(runner.execution_arn(s.order_id))) for s in batch]


def _invoke_connector(sandbox: Sandbox, scenario: scenarios.ChannelScenario) -> None:
    answer, error = sandbox.invoke(scenario.handler, scenario.payload)
    if error:
        raise RuntimeError(f"connector {scenario.handler} refused {scenario.order_id}: {answer}")


def channel_problems(sandbox: Sandbox, outcome: list[tuple[scenarios.ChannelScenario, OrderResult]]) -> list[str]:
    """What the marketplace and store orders promise, and a carrier and tracking e-mail for every shipped order."""
    problems = []
    for scenario, result in outcome:
        if result.status != "SUCCEEDED":
            problems.append(f"{scenario.order_id} ({scenario.path}) ended {result.status} {result.error}")
        warehouse_told = result.entered("NotifyWarehouse")
        if warehouse_told != (scenario.path != scenarios.STORE_HANDED_OVER):
            problems.append(f"{scenario.order_id} ({scenario.path}): warehouse told = {warehouse_told}")
    executions = [r.execution_arn for s, r in outcome if s.path == scenarios.MARKETPLACE_REDELIVERY]
    if any(
        outcome_arn not in {r.execution_arn for s, r in outcome if s.path != scenarios.MARKETPLACE_REDELIVERY}
        for outcome_arn in executions
    ):
        problems.append("a redelivery started another execution")
    shipped = shipped_orders(sandbox)
    tracked = {mail.subject.split()[2] for mail in observe.emails(sandbox) if " ships with " in mail.subject}
    for order_id in sorted(set(shipped) - tracked):
        problems.append(f"{order_id} shipped without a tracking e-mail")
    return problems


def shipped_orders(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    """Every shipment the logistics subscriber booked: order id -> ShipmentAssigned data."""
    name = sandbox.outputs.get("LogisticsSubscriberTableName")
    if not name:
        return {}
    items = sandbox.resource("dynamodb").Table(name).scan()["Items"]
    return {str(i["pk"]).removeprefix("ORDER#"): i["shipment"] for i in items if i.get("sk") == "SHIPMENT"}


def check(sandbox: Sandbox, outcome: list[tuple[scenarios.Scenario, OrderResult]]) -> list[str]:
    """What the demo promises; each broken promise is one line."""
    problems = []
    for scenario, result in outcome:
        if (result.status, result.error) not in scenarios.EXPECTED[scenario.path]:
            problems.append(f"{scenario.order_id} ({scenario.path}) ended {result.status} {result.error}")
    race = [r for s, r in outcome if s.path == scenarios.RACE]
    if race and not (any(r.status == "SUCCEEDED" for r in race) and any(r.status == "FAILED" for r in race)):
        problems.append("the race for the last units had no winner or no loser")
    for subscriber, outcomes in observe.deliveries_by_subscriber(sandbox).items():
        if set(outcomes) != {"SUCCEEDED"}:
            problems.append(f"subscriber {subscriber}: deliveries {dict(outcomes)}")
    for queue, count in observe.dead_letters(sandbox).items():
        if count:
            problems.append(f"{queue} dead-letter queue holds {count} message(s)")
    verification = observe.audit_verification(sandbox)
    if not verification.ok:
        problems.append(f"audit chain broken at {verification.first_broken_seq}: {verification.problem}")
    return problems


def _money(cents: int, currency: str = "EUR") -> str:
    return f"{cents / 100:,.2f} {currency}"


def sales_day(results: list[tuple[scenarios.Scenario, OrderResult]]) -> date | None:
    """The day (UTC, sandbox clock) the demo's sales were made: before its clock jumps a review's 72 h."""
    days = sorted(
        r.history[-1]["timestamp"].astimezone(UTC).date() for _, r in results if r.status == "SUCCEEDED" and r.history
    )
    return days[0] if days else None


def report(sandbox: Sandbox, outcome: DemoOutcome, out: TextIO) -> None:
    def write(line: str = "") -> None:
        out.write(line + "\n")

    write()
    write("Orders (one execution each; states visited from the execution history)")
    for scenario, result in outcome.results:
        reason = f"  {result.reason}" if result.error else ""
        write(f"  {result.order_id:<9} {scenario.path:<19} {result.status:<9} {' > '.join(result.states)}{reason}")
    statuses = Counter(r.status for _, r in outcome.results)
    write(f"  {statuses['SUCCEEDED']} SUCCEEDED, {statuses['FAILED']} FAILED")
    if outcome.channel_results:
        write()
        write("Orders from a marketplace and a store (MarketplaceOrderReceived -> intake -> the same workflow)")
        for channel_scenario, result in outcome.channel_results:
            write(f"  {result.order_id:<18} {channel_scenario.path:<27} {result.status:<9} {' > '.join(result.states)}")

    write()
    deliveries = observe.deliveries_by_subscriber(sandbox)
    total = sum(sum(c.values()) for c in deliveries.values())
    dead = sum(observe.dead_letters(sandbox).values())
    write(f"What the subscribers did ({total} EventBridge deliveries to Lambda; dead-letter messages: {dead})")
    completed = observe.events_seen(sandbox, "inventory")[constants.EVENT_ORDER_COMPLETED]
    changed = [level for level in observe.stock_levels(sandbox) if level.sold or level.held]
    reorders = observe.events_seen(sandbox, "audit")[constants.EVENT_REORDER_SUGGESTED]
    write(f"  inventory      {completed} OrderCompleted: held stock became sold; {reorders} ReorderSuggested published")
    for level in changed:
        write(
            f"                 {level.sku:<17} {level.warehouse:<8} available {level.available:>4}"
            f"  held {level.held:>3}  sold {level.sold:>3}"
        )
    write("  analytics      orders by site variant (today), compared per order with control:")
    variants = observe.analytics_by_variant(sandbox, sales_day(outcome.results))
    control = next((v for v in variants if v.variant == "control"), None)
    for stats in variants:
        if stats is control or stats.avg_order_value_lift_pct is None:
            lift = ""
        elif stats.too_small_to_compare(control):
            lift = f"; sample too small to compare (fewer than {MIN_ORDERS_TO_COMPARE} orders a side)"
        else:
            lift = f"; average order {stats.avg_order_value_lift_pct:+.1f}% vs control"
        write(
            f"                 {stats.variant:<12} {stats.orders:>2} orders  {stats.units:>3} units  "
            f"{_money(stats.revenue_cents):>12}  avg {_money(round(stats.avg_order_value_cents)):>10}{lift}"
        )
    verification = observe.audit_verification(sandbox)
    seen = observe.events_seen(sandbox, "audit")
    kinds = ", ".join(f"{name} {count}" for name, count in sorted(seen.items()))
    verdict = (
        f"hash chain verified, anchored to record {verification.anchored_seq}"
        if verification.ok
        else f"CHAIN BROKEN at {verification.first_broken_seq}"
    )
    write(
        f"  audit          {sum(seen.values())} events recorded ({kinds}); {verdict} ({verification.checked} records)"
    )
    shipments = shipped_orders(sandbox)
    write(f"  logistics      {len(shipments)} parcels booked with a delivery partner (ShipmentAssigned):")
    for order_id, shipment in sorted(shipments.items()):
        write(
            f"                 {order_id:<18} {shipment['carrier']:<9} {shipment['trackingNumber']:<16} "
            f"{shipment['warehouseId']} -> {shipment['destinationCountry']}, {int(shipment['parcelWeightGrams'])} g, "
            f"by {shipment['promisedDate']}"
        )
    mails = observe.emails(sandbox)
    tracking = [mail for mail in mails if " ships with " in mail.subject]
    write(
        f"  notifications  {len(mails)} e-mails sent through SES "
        f"({len(mails) - len(tracking)} confirmations, {len(tracking)} tracking e-mails)"
    )
    for mail in tracking[:2] + [m for m in mails if m not in tracking][:2]:
        write(f"                 {mail.source} -> {', '.join(mail.to)}: {mail.subject}")
    if len(mails) > 4:
        write(f"                 ... and {len(mails) - 4} more")

    for subscriber in sorted(set(deliveries) - {"inventory", "analytics", "audit", "notifications", "logistics"}):
        kinds = ", ".join(f"{name} {n}" for name, n in sorted(observe.events_seen(sandbox, subscriber).items()))
        outcomes = ", ".join(f"{n} {outcome.lower()}" for outcome, n in sorted(deliveries[subscriber].items()))
        write(f"  {subscriber:<14} received {kinds}: {outcomes}")

    write()
    sleeps = sandbox.clock.sleeps()
    skipped = sum(s.seconds for s in sleeps)
    write(
        f"Sandbox: moto {MOTO_VERSION} with {len(FIXES)} fixes; {len(sandbox.invocations)} Lambda invocations "
        f"in-process; {len(sleeps)} back-offs/waits skipped ({skipped:g} s)"
    )
    write(
        f"Time: {outcome.wall_seconds:.1f} s wall (deploy included); {len(outcome.results)} orders in "
        f"{outcome.orders_seconds:.1f} s = {outcome.orders_per_second:.1f} orders/s through the sandbox "
        f"({outcome.cpu_seconds / max(len(outcome.results), 1):.2f} s CPU per order, subscribers included)"
    )


def main(cdk_out: Path, out: TextIO = sys.stdout) -> int:
    started = time.monotonic()
    progress = Progress(out)
    try:
        template = template_path(cdk_out)
    except DeployError as error:
        out.write(f"{error}\n")
        return 2
    progress.step(f"deploying {template} into the sandbox (in-memory AWS: moto {MOTO_VERSION}, no network)")
    with Sandbox(cdk_out, seed_catalog=scenarios.CATALOG_PATH) as sandbox:
        assert sandbox.deployment is not None
        types = Counter(r.type for r in sandbox.deployment.resources.values())
        progress.step(
            f"stack {sandbox.deployment.stack_name}: {sum(types.values())} resources "
            f"({types['AWS::Lambda::Function']} functions, {types['AWS::Events::Rule']} rules, "
            f"{types['AWS::DynamoDB::Table']} tables, 1 state machine); example catalog seeded"
        )
        missing = sandbox.missing_handlers()
        if missing:
            out.write("\nThese functions' handlers cannot be imported, so the demo cannot run:\n")
            for name, why in missing.items():
                out.write(f"  {name}: {why}\n")
            return 2
        catalog = scenarios.load_catalog()
        batch = scenarios.batch(scenarios.Storefront(catalog, deployed_pricing(sandbox)), catalog)
        orders_started, cpu_started = time.monotonic(), time.process_time()
        results = run_orders(sandbox, batch, progress)
        orders_seconds = time.monotonic() - orders_started
        cpu_seconds = time.process_time() - cpu_started
        outcome = DemoOutcome(list(zip(batch, results, strict=True)), orders_seconds, 0.0, cpu_seconds)
        storefront = scenarios.Storefront(catalog, deployed_pricing(sandbox))
        outcome.channel_results = run_channel_orders(sandbox, scenarios.channel_batch(storefront), progress)
        outcome.problems = check(sandbox, outcome.results) + channel_problems(sandbox, outcome.channel_results)
        outcome.wall_seconds = time.monotonic() - started
        report(sandbox, outcome, out)
        out.write(
            f"\nThe back-office page (reviewers, operators): `make serve`, then "
            f"http://127.0.0.1:5000{backoffice.PAGE_PREFIX} (it prints the seeded users' passwords); "
            f"deployed, the stack output {constants.OUTPUT_BACK_OFFICE_URL}.\n"
        )
    if outcome.problems:
        out.write("\nDEMO CHECK FAILED:\n" + "".join(f"  {p}\n" for p in outcome.problems))
        return 1
    return 0
