"""`make reliability`: every reliability suite at full size, in one sandbox, then one line of figures.

    python -m tests.reliability.run [--seed N] [--size full|small] [--cdk-out DIR]

Synthesizes the app (cdk-nag on, as `make synth` does) into a temporary directory unless --cdk-out
names one, deploys it into the sandbox with a fault injector on every Lambda invocation, runs the
suites (randomized faults, bad input, at-least-once, load, subscriber failure, callbacks) with one
seed, prints progress, the seed and the wall time, and ends with exactly:

    orders=N faults=M bad_inputs=K violations=V integration_faults=A crash_after_task=B beyond_budget=C
    permanent_subscriber=D repaired=E

(on one line): A counts failed service-integration calls and EventBridge deliveries, B crash-after faults
in task functions, C faults drawn to outlast a step's retries that did, D events a lasting subscriber
fault sent to its DLQ that a redrive then applied, E orders stalled after commit or ended
Order.CompensationFailed that a repair finished and that then met every invariant.

Exits 1 when V > 0. The same seed replays the same orders, faults and bad inputs (thread timing
aside): pass it back with --seed (or RELIABILITY_SEED) to reproduce a failure.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from tests.reliability import bad_input, suites
from tests.reliability.world import World


@dataclass(frozen=True)
class Sizes:
    fault_orders: int
    bad_input_batches: int  # hypothesis examples, each a batch of BAD_INPUT_BATCH orders
    at_least_once_orders: int
    load_racers: int
    subscriber_orders: int
    fault_batch: int = 30


FULL = Sizes(fault_orders=240, bad_input_batches=52, at_least_once_orders=10, load_racers=80, subscriber_orders=16)
SMALL = Sizes(fault_orders=40, bad_input_batches=6, at_least_once_orders=4, load_racers=24, subscriber_orders=4)
BAD_INPUT_BATCH = 10


@dataclass
class Report:
    seed: int
    orders: int = 0
    faults: int = 0
    bad_inputs: int = 0
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    figures: dict[str, int] = field(default_factory=dict)  # the new fault kinds that fired (World.figures)

    def line(self) -> str:
        counts = f"orders={self.orders} faults={self.faults} bad_inputs={self.bad_inputs}"
        return " ".join([counts, f"violations={len(self.violations)}", *(f"{k}={v}" for k, v in self.figures.items())])


def run_suites(world: World, sizes: Sizes) -> Report:
    """Every suite, in order, on one world; the report sums them."""
    report = Report(world.seed)
    results = []
    for name, suite in (
        ("faults", lambda: suites.fault_suite(world, sizes.fault_orders, sizes.fault_batch)),
        ("bad input", lambda: bad_input.bad_input_suite(world, sizes.bad_input_batches, BAD_INPUT_BATCH)),
        ("at-least-once", lambda: suites.at_least_once_suite(world, sizes.at_least_once_orders)),
        ("load", lambda: suites.load_suite(world, sizes.load_racers)),
        ("subscriber failure", lambda: suites.subscriber_failure_suite(world, sizes.subscriber_orders)),
        ("callbacks", lambda: suites.callback_suite(world)),
    ):
        world.say(f"{name}: starting")
        try:
            result = suite()
        except Exception as error:  # a crashed suite is a finding too; the others still run
            traceback.print_exc(file=world.out)
            result = suites.SuiteResult(name, violations=[f"the suite crashed: {type(error).__name__}: {error}"])
        if isinstance(result, list):  # the bad-input property reports its violations only
            result = suites.SuiteResult(name, world.totals.bad_inputs, "inputs", violations=result)
        results.append(result)
    for result in results:
        world.say(f"{result.name}: {result.orders} {result.unit}, {len(result.violations)} violations")
        for outcome, count in sorted(result.outcomes.items()):
            world.say(f"  {count:4d} {outcome}")
        report.notes += [f"{result.name}: {note}" for note in result.notes]
        report.violations += [f"{result.name}: {v}" for v in result.violations]
    report.orders = world.totals.orders
    report.bad_inputs = world.totals.bad_inputs
    report.faults = world.faults_injected()
    report.figures = world.figures()
    return report


def synthesize(outdir: Path) -> Path:
    from tests.synth import synthesize as synth

    return synth(outdir).outdir


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.run", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=int(os.environ.get("RELIABILITY_SEED", "0")) or None)
    parser.add_argument("--size", choices=("full", "small"), default="full")
    parser.add_argument("--cdk-out", type=Path, help="a synthesized cdk.out (default: synthesize afresh)")
    args = parser.parse_args(argv)
    seed = args.seed or random.SystemRandom().randrange(1, 10**6)
    sizes = FULL if args.size == "full" else SMALL
    started = time.monotonic()
    print(f"reliability: seed {seed} ({args.size} size); reproduce with --seed {seed}", file=out, flush=True)
    with tempfile.TemporaryDirectory(prefix="reliability-cdk-") as scratch:
        cdk_out = args.cdk_out or synthesize(Path(scratch))
        print(f"[{time.monotonic() - started:6.1f}s] synthesized; deploying into the sandbox", file=out, flush=True)
        with World.started(cdk_out, seed, out) as world:
            report = run_suites(world, sizes)
    report.seconds = time.monotonic() - started
    for note in report.notes:
        print(f"note: {note}", file=out)
    for violation in report.violations:
        print(f"VIOLATION {violation}", file=out)
    print(f"seed {seed}, wall time {report.seconds:.0f} s", file=out)
    print(report.line(), file=out, flush=True)
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
