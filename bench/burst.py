"""A flash sale in the sandbox: many orders started at once, half of them for one product whose stock covers
half of those, with the limits a shop meets enforced: SES at the SES sandbox's 1 e-mail per second
(sandbox/ses.py), Lambda concurrency capped (sandbox/concurrency.py) and a write limit on each DynamoDB
partition key of the inventory table (sandbox/dynamodb.py), all on the sandbox clock.

Time: a throttled task's Retry back-off waits on the sandbox clock (``Clock.paced_back_offs``, see
sandbox/clock.py), so running invocations finish and free their slots meanwhile, as in AWS. The clock
jumps only over time in which nothing runs and something waits on it (``Clock.quiet()``): to the earliest
pending back-off (``Clock.skip_idle_time``), or to a failed queue message's visibility (sandbox/queues.py).
Everything else, the e-mails SES paces included, takes its real time, so ``caught_up_seconds`` is the
simulated time until the last subscriber caught up. Subscribers over the cap wait for a slot (Lambda
retries throttled asynchronous events for up to 6 h; an SQS mapping retries a throttled batch while its
visibility timeout runs, and a receive after that counts), so throttling alone dead-letters nothing.

The hot product's stock item takes at most ``HOT_ITEM_WRITE_UNITS_PER_SECOND`` write units a second (one
transactional write): AWS's 1,000 scaled down as far as the sandbox's speed is below Lambda's, so that its
holds and sales really are throttled (``dynamodb_throttled``). What absorbs that is the design: the
adapter retries a throttled transaction, and a throttle surfacing from ReserveStock is transient in the
workflow's Retry, never a business failure (README, the retry table).

    .venv/bin/python -m bench.burst [--orders 300] [--concurrency 50]   # `make burst`

What must hold: every order ends as its path says (the hot product's orders beyond its stock fail out of
stock, the rest succeed), no dead letter, no oversell, every e-mail sent. The report gives what did not,
and the time on the sandbox clock until the last subscriber caught up. It is written to
bench/results/latest.json under ``burst`` (the rest of the file kept).
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
from examples.seed import seed_inventory
from lambdas.shared import constants
from lambdas.shared.adapters.inventory import product_pk
from sandbox import dynamodb, observe, scenarios, ses
from sandbox.account import Sandbox
from sandbox.clock import IDLE_SKIP, Clock
from sandbox.concurrency import ConcurrencyCap
from sandbox.demo import deployed_pricing
from sandbox.queues import QUEUE_VISIBILITY
from sandbox.runner import Runner

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "bench" / "results" / "latest.json"
# A new account's concurrency is often far below the 1,000 default; a small cap makes the limit bite.
DEFAULT_CONCURRENCY = 50
# Write units a second on one partition key of the inventory table: one transactional write (see the docstring).
HOT_ITEM_WRITE_UNITS_PER_SECOND = float(dynamodb.TRANSACTIONAL_WRITE_UNITS)
HOT_WAREHOUSE = "WH-EU-1"  # where the burst's German orders ship from
HOT_STOCK_SHARE = 0.5  # the hot product's stock covers this share of its orders
# A flash sale's product is stocked as docs/HOT-PRODUCT.md says: split over shards, each its own partition key.
HOT_STOCK_SHARDS = 4
DRAIN_POLL_SECONDS = 0.2  # real seconds between looks at the deliveries still running
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
    hot_stock: int  # units of the hot product at the start
    hot_stock_shards: int  # partition keys its stock is split over
    ses_throttled: int
    dynamodb_throttled: int  # writes and transactions refused for a partition key over its write limit
    dynamodb_throttled_hot_item: int  # ... of which on the hot product's stock items
    lambda_throttled: int  # synchronous invokes refused with 429 (the workflow retried them)
    lambda_queued: int  # asynchronous invokes that waited for a slot
    lambda_peak_concurrency: int
    caught_up_seconds: float  # sandbox clock, from the first start until every delivery finished
    # ... of which the clock skipped: {"idle-skip": no invocation ran, to a pending back-off, "queue-visibility":
    # a failed message's visibility timeout with nothing else to do}
    skipped_seconds: dict[str, float]
    wall_seconds: float
    concurrency: int
    ses_rate_per_second: float
    dynamodb_write_units_per_second: float  # per partition key of the inventory table
    lost_by_error: dict[str, int]  # what the lost orders ended with
    dead_letters_by_subscriber: dict[str, int]  # whose dead-letter queue they are in

    def problems(self) -> list[str]:
        counts = {k: v for k, v in asdict(self).items() if k in ("lost", "dead_letters", "oversold", "emails_unsent")}
        return [f"{name}={value}" for name, value in counts.items() if value]


def _level(sandbox: Sandbox, sku: str) -> observe.StockLevel:
    """`sku`'s stock at the warehouse the burst's orders ship from."""
    return next(
        level for level in observe.stock_levels(sandbox) if (level.sku, level.warehouse) == (sku, HOT_WAREHOUSE)
    )


def _wait(runner: Runner, arns: set[str], timeout: float, clock: Clock) -> None:
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
        clock.skip_idle_time()
        time.sleep(Clock.POLL_SECONDS if pending else 0)


def _drain(sandbox: Sandbox, timeout: float) -> None:
    """Until every delivery has finished: e-mails at SES's pace in real time; a subscriber's retry after its back-off
    and a message back in its buffer after its visibility timeout, the clock passing to them once nothing runs."""
    deadline = time.monotonic() + timeout
    while not sandbox.drain(timeout=DRAIN_POLL_SECONDS):
        sandbox.clock.skip_idle_time()
        if time.monotonic() > deadline:
            raise TimeoutError(f"deliveries still running after {timeout:g} s")


def _stock_hot_product(sandbox: Sandbox, catalog: Mapping[str, Any], sku: str, units: int) -> None:
    """Restock `sku` at the hot warehouse to `units` (the catalog's other warehouses kept)."""
    product = next(p for p in catalog["products"] if p["sku"] == sku)
    with sandbox.client_environment():
        seed_inventory(
            sandbox.outputs["InventoryTableName"],
            {
                "products": [
                    {**product, "stockShards": HOT_STOCK_SHARDS, "stock": {**product["stock"], HOT_WAREHOUSE: units}}
                ]
            },
        )


def run(
    cdk_out: Path,
    orders: int,
    concurrency: int,
    ses_rate: float = ses.SES_SANDBOX_SEND_RATE,
    write_units: float = HOT_ITEM_WRITE_UNITS_PER_SECOND,
) -> BurstReport:
    cap = ConcurrencyCap(concurrency)
    with (
        Sandbox(cdk_out, seed_catalog=scenarios.CATALOG_PATH, invocation_hook=cap) as sandbox,
        ses.modelled(sandbox.clock, ses.SesLimits(send_rate_per_second=ses_rate)) as model,
    ):
        catalog = scenarios.load_catalog()
        storefront = scenarios.Storefront(catalog, deployed_pricing(sandbox))
        hot, _ = scenarios.scarce_sku(catalog, HOT_WAREHOUSE)
        hot_orders = len(range(0, orders, 2))
        _stock_hot_product(sandbox, catalog, hot, int(hot_orders * HOT_STOCK_SHARE))
        start = _level(sandbox, hot)
        stock = start.available  # units the burst may sell
        batch = [
            storefront.order("burst", [(hot if i % 2 == 0 else BENCH_SKUS[i % len(BENCH_SKUS)], 1)], "DE")
            for i in range(orders)
        ]
        # The write limit from here on: seeding writes a product's items in a burst of its own.
        limits = dynamodb.DynamoLimits(write_units, frozenset({sandbox.outputs["InventoryTableName"]}))
        with dynamodb.modelled(sandbox.clock, limits) as partitions:
            runner = sandbox.runner()
            sandbox.clock.paced_back_offs = True
            started_clock, started_wall = sandbox.clock.now(), time.monotonic()
            try:
                arns = {order["orderId"]: runner.start(order) for order in batch}
                _wait(runner, set(arns.values()), timeout=RUN_TIMEOUT_SECONDS, clock=sandbox.clock)
                _drain(sandbox, timeout=RUN_TIMEOUT_SECONDS)
            finally:
                sandbox.clock.paced_back_offs = False  # a back-off still waiting ends (a timeout above)
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
        end = _level(sandbox, hot)
        sold = end.sold + end.held - start.sold - start.held
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
            hot_stock=stock,
            hot_stock_shards=HOT_STOCK_SHARDS,
            ses_throttled=model.throttled,
            dynamodb_throttled=partitions.throttled,
            dynamodb_throttled_hot_item=sum(
                count for (_, key), count in partitions.throttled_keys.items() if _is_stock_of(key, hot)
            ),
            lambda_throttled=cap.throttled,
            lambda_queued=cap.queued,
            lambda_peak_concurrency=cap.peak,
            caught_up_seconds=round(caught_up, 1),
            skipped_seconds=_skipped(sandbox.clock),
            wall_seconds=round(time.monotonic() - started_wall, 1),
            concurrency=concurrency,
            ses_rate_per_second=ses_rate,
            dynamodb_write_units_per_second=write_units,
            lost_by_error=dict(lost_by_error),
            dead_letters_by_subscriber=dead_letters,
        )


SKIPS = (IDLE_SKIP, QUEUE_VISIBILITY)  # what the sandbox clock skips over (Clock.skip_while_quiet)


def _skipped(clock: Clock) -> dict[str, float]:
    skipped: Counter[str] = Counter()
    for sleep in clock.sleeps():
        if sleep.kind in SKIPS:
            skipped[sleep.kind] += sleep.seconds
    return {kind: round(seconds, 1) for kind, seconds in skipped.items()}


def _is_stock_of(partition_key: str, sku: str) -> bool:
    """Is this the partition key of one of `sku`'s stock shards (lambdas/shared/adapters/inventory.py, stock_key)?"""
    return partition_key == product_pk(sku) or partition_key.startswith(f"{product_pk(sku)}#")


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
