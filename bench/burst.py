"""A flash sale in the sandbox: many orders started at once, half of them for one scarce product, with
the limits a shop meets enforced: SES at the SES sandbox's 1 e-mail per second (sandbox/ses.py, on the
sandbox clock) and Lambda concurrency capped (sandbox/concurrency.py).

Time: a throttled task's Retry back-off waits on the sandbox clock (``Clock.paced_back_offs``, see
sandbox/clock.py), so running invocations finish and free their slots meanwhile, as in AWS; whenever no
invocation runs, the clock jumps to the earliest pending back-off (``ConcurrencyCap.skip_idle_time``).
Subscribers over the cap wait for a slot (Lambda retries throttled asynchronous events for up to 6 h, an
SQS mapping backs off and retries a throttled batch), so throttling alone dead-letters nothing.

    .venv/bin/python -m bench.burst [--orders 300] [--concurrency 50]   # `make burst`

What must hold: every order ends as its path says (the scarce product's orders beyond its stock
fail out of stock, the rest succeed), no dead letter, no oversell, every e-mail sent. The report
gives what did not, and the time on the sandbox clock until the last subscriber caught up. It is
written to bench/results/latest.json under ``burst`` (the rest of the file kept).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.capacity import UsagePerOrder
from bench.orders import BENCH_SKUS
from lambdas.shared import constants
from sandbox import observe, scenarios, ses
from sandbox.account import Sandbox
from sandbox.clock import Clock
from sandbox.concurrency import IDLE_SKIP, ConcurrencyCap
from sandbox.demo import deployed_pricing
from sandbox.queues import QUEUE_VISIBILITY
from sandbox.runner import Runner

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "bench" / "results" / "latest.json"
# A new account's concurrency is often far below the 1,000 default; a small cap makes the limit bite.
DEFAULT_CONCURRENCY = 50
# While deliveries are pending after the last order ended, the sandbox clock moves this many seconds per
# poll: SES's per-second quota refills and the buffer's messages become visible again at 25x real time.
CLOCK_STEP_SECONDS = 5.0
DRAIN_POLL_SECONDS = 0.2
DRAIN_STEP = "drain-step"
# Real seconds the orders, then the deliveries, may take: 300 orders took ~15 min on 2 loaded cores.
RUN_TIMEOUT_SECONDS = 1800.0
STATUS_POLL_SECONDS = 0.5  # real seconds between looks at the executions' statuses


@dataclass
class BurstReport:
    orders: int
    succeeded: int
    out_of_stock: int
    lost: int  # orders that did not end as their path says (still running, or failed otherwise)
    dead_letters: int
    oversold: int  # units sold beyond the stock there was
    emails_unsent: int
    emails_sent: int
    ses_throttled: int
    lambda_throttled: int  # synchronous invokes refused with 429 (the workflow retried them)
    lambda_queued: int  # asynchronous invokes that waited for a slot
    lambda_peak_concurrency: int
    caught_up_seconds: float  # sandbox clock, from the first start until every delivery finished
    # ... of which the clock skipped: {"idle-skip": no invocation ran, "queue-visibility": a failed message's
    # visibility timeout with nothing else to do, "drain-step": moved on for SES while deliveries waited}
    skipped_seconds: dict[str, float]
    wall_seconds: float
    concurrency: int
    ses_rate_per_second: float
    lost_by_error: dict[str, int]  # what the lost orders ended with
    dead_letters_by_subscriber: dict[str, int]  # whose dead-letter queue they are in

    def problems(self) -> list[str]:
        counts = {k: v for k, v in asdict(self).items() if k in ("lost", "dead_letters", "oversold", "emails_unsent")}
        return [f"{name}={value}" for name, value in counts.items() if value]


def _stock(sandbox: Sandbox, sku: str) -> int:
    return sum(level.available + level.held + level.sold for level in observe.stock_levels(sandbox) if level.sku == sku)


def _sold(sandbox: Sandbox, sku: str) -> int:
    return sum(level.sold + level.held for level in observe.stock_levels(sandbox) if level.sku == sku)


def _wait(runner: Runner, arns: set[str], timeout: float, cap: ConcurrencyCap, clock: Clock) -> None:
    """Until none of `arns` runs, skipping the sandbox clock over time in which no invocation runs. Not
    Runner.wait: it pages ListExecutions(RUNNING), and with more than a page of executions finishing
    meanwhile moto loses the page token (InvalidToken)."""
    deadline = time.monotonic() + timeout
    pending = set(arns)
    checked = 0.0
    while pending:
        if time.monotonic() - checked >= STATUS_POLL_SECONDS:
            pending = {arn for arn in pending if runner.status(arn) == "RUNNING"}
            checked = time.monotonic()
        if pending and time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} executions still running after {timeout:g} s")
        cap.skip_idle_time(clock)
        time.sleep(Clock.POLL_SECONDS if pending else 0)


def run(cdk_out: Path, orders: int, concurrency: int, ses_rate: float = ses.SES_SANDBOX_SEND_RATE) -> BurstReport:
    cap = ConcurrencyCap(concurrency)
    with (
        Sandbox(cdk_out, seed_catalog=scenarios.CATALOG_PATH, invocation_hook=cap) as sandbox,
        ses.modelled(sandbox.clock, ses.SesLimits(send_rate_per_second=ses_rate)) as model,
    ):
        catalog = scenarios.load_catalog()
        storefront = scenarios.Storefront(catalog, deployed_pricing(sandbox))
        hot, _level = scenarios.scarce_sku(catalog)
        stock = _stock(sandbox, hot)
        batch = [
            storefront.order("burst", [(hot if i % 2 == 0 else BENCH_SKUS[i % len(BENCH_SKUS)], 1)], "DE")
            for i in range(orders)
        ]
        runner = sandbox.runner()
        sandbox.clock.paced_back_offs = True
        started_clock, started_wall = sandbox.clock.now(), time.monotonic()
        try:
            arns = {order["orderId"]: runner.start(order) for order in batch}
            _wait(runner, set(arns.values()), timeout=RUN_TIMEOUT_SECONDS, cap=cap, clock=sandbox.clock)
        finally:
            sandbox.clock.paced_back_offs = False  # a back-off still waiting ends (a timeout above)
        # The backlog (e-mails waiting for SES, messages back in the buffer until their visibility
        # timeout) drains on the sandbox clock: move it on while deliveries are pending.
        deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
        while not sandbox.drain(timeout=DRAIN_POLL_SECONDS):
            sandbox.clock.advance(CLOCK_STEP_SECONDS)
            sandbox.clock.record(DRAIN_STEP, CLOCK_STEP_SECONDS)
            if time.monotonic() > deadline:
                raise TimeoutError(f"deliveries still running after {RUN_TIMEOUT_SECONDS:g} s")
        caught_up = sandbox.clock.now() - started_clock
        statuses = {order_id: runner.status(arn) for order_id, arn in arns.items()}
        hot_ids = {order["orderId"] for order in batch if order["items"][0]["sku"] == hot}
        succeeded = [order_id for order_id, status in statuses.items() if status == "SUCCEEDED"]
        out_of_stock = [
            order_id
            for order_id in hot_ids
            if statuses[order_id] == "FAILED" and runner.result(arns[order_id]).error == constants.ERROR_OUT_OF_STOCK
        ]
        lost_by_error = Counter(
            f"{statuses[order_id]} {runner.result(arns[order_id]).error or ''}".strip()
            for order_id in statuses
            if order_id not in succeeded and order_id not in out_of_stock
        )
        sold = _sold(sandbox, hot)
        emails_per_order = UsagePerOrder.load().emails
        sent = len(observe.emails(sandbox))
        dead_letters = {name: count for name, count in observe.dead_letters(sandbox).items() if count}
        return BurstReport(
            orders=orders,
            succeeded=len(succeeded),
            out_of_stock=len(out_of_stock),
            lost=sum(lost_by_error.values()),
            dead_letters=sum(dead_letters.values()),
            oversold=max(0, sold - stock),
            emails_unsent=max(0, round(len(succeeded) * emails_per_order) - sent),
            emails_sent=sent,
            ses_throttled=model.throttled,
            lambda_throttled=cap.throttled,
            lambda_queued=cap.queued,
            lambda_peak_concurrency=cap.peak,
            caught_up_seconds=round(caught_up, 1),
            skipped_seconds=_skipped(sandbox.clock),
            wall_seconds=round(time.monotonic() - started_wall, 1),
            concurrency=concurrency,
            ses_rate_per_second=ses_rate,
            lost_by_error=dict(lost_by_error),
            dead_letters_by_subscriber=dead_letters,
        )


def _skipped(clock: Clock) -> dict[str, float]:
    skipped: Counter[str] = Counter()
    for sleep in clock.sleeps():
        if sleep.kind in (IDLE_SKIP, DRAIN_STEP, QUEUE_VISIBILITY):
            skipped[sleep.kind] += sleep.seconds
    return {kind: round(seconds, 1) for kind, seconds in skipped.items()}


def record(report: BurstReport, path: Path = DEFAULT_OUT) -> None:
    """Put the report under ``burst`` in the bench's JSON document, keeping the rest."""
    document: Mapping[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**document, "burst": asdict(report)}, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.burst", description=__doc__.splitlines()[0])
    parser.add_argument("--cdk-out", type=Path, default=REPO / "cdk.out")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="Lambda concurrency cap")
    args = parser.parse_args(argv)
    if args.orders < 2:
        parser.error(f"--orders must be at least 2, got {args.orders}")
    report = run(args.cdk_out, args.orders, args.concurrency)
    record(report, args.out)
    for name, value in asdict(report).items():
        print(f"{name:26} {value}")
    problems = report.problems()
    print("burst: " + ("nothing lost" if not problems else "FAILED: " + ", ".join(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
