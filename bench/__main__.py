"""`make bench`: benchmarks and the cost model in one run -> bench/results/latest.json and a table.

    .venv/bin/python -m bench [--skip-make-test] [--skip-synth] [--import-repeats N] ...
    .venv/bin/python -m bench --only cold [--import-repeats N]   # the cold imports alone, into the same file

Timings vary on a shared machine, so every figure that is judged is a ratio of two things measured
in the same run (interleaved), from medians of repeats. See docs/BENCH.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import assets, capacity, coldstart, cost, notes, prices, report, template, toolchain
from sandbox import scenarios

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "bench" / "results" / "latest.json"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--cdk-out", type=Path, default=REPO / "cdk.out")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--import-repeats", type=int, default=11, help="fresh interpreters per handler (and baseline)")
    parser.add_argument("--order-repeats", type=int, default=15, help="happy-path orders per mode (sandbox, direct)")
    parser.add_argument("--batch", type=int, default=20, help="orders started at once for the concurrent figure")
    parser.add_argument("--batches", type=int, default=3, help="concurrent batches (median)")
    parser.add_argument("--synth-repeats", type=int, default=3)
    parser.add_argument("--skip-make-test", action="store_true", help="quick iterations: do not time `make test`")
    parser.add_argument("--skip-synth", action="store_true", help="quick iterations: do not time `cdk synth`")
    parser.add_argument("--skip-imports", action="store_true", help="quick iterations: no cold-import measurement")
    parser.add_argument(
        "--only",
        choices=["cold"],
        help="measure only this part (cold: the cold imports) and update it in --out, keeping the rest",
    )
    return parser.parse_args(argv)


def _step(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _usage(bench_run: Any, run: Any, retention_days: int) -> cost.Usage:
    usage: cost.Usage = run.usage(bench_run.memory_mb)
    usage.log_retention_days = retention_days
    return usage


def _paths_section(bench_run: Any, retention_days: int) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for run in bench_run.paths:
        usage = _usage(bench_run, run, retention_days)
        usage_dict = usage.as_dict()
        by_function = usage_dict.pop("invocations")
        paths[run.path] = {
            "order_id": run.order_id,
            "status": run.status,
            "error": run.error,
            "states": run.counts.states,
            "transitions": run.counts.transitions,
            "retries": run.counts.retries,
            "workflow_lambda_invocations": run.counts.lambda_invocations,
            "lambda_invocations_by_function": by_function,
            "usage": usage_dict,
            "handler_calls": run.calls.as_dict()["calls"],
            "stored_bytes_by_table": run.left.stored_by_table,
            "log_bytes_by_group": run.left.log_bytes_by_group,
            "cost_per_million": cost.cost_per_million(usage),
        }
    return paths


def _express_what_if(bench_run: Any, throughput: dict[str, Any], retention_days: int) -> dict[str, Any] | None:
    """The happy order on Express, a review order handed over to Standard (bench.cost.express_what_if).
    The Express duration is the order's measured end-to-end time in the sandbox."""
    runs = {run.path: run for run in bench_run.paths}
    fast, review = runs.get(scenarios.HAPPY), runs.get(scenarios.REVIEW_APPROVED)
    if fast is None or review is None:
        return None
    duration_ms = float(throughput["sandbox_median_ms_per_order"])
    return cost.express_what_if(
        _usage(bench_run, fast, retention_days),
        _usage(bench_run, review, retention_days),
        duration_ms,
        fast.log_at_all,
        cost.WHAT_IF_REVIEW_SHARE,
    )


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    started = time.perf_counter()
    load_before = os.getloadavg()
    functions = template.functions(args.cdk_out)
    document: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 1) for x in load_before],
        },
        "functions": len(functions),
    }

    _step(f"asset sizes ({len(functions)} functions)")
    document["assets"] = assets.sizes(functions)
    document["lambda_asset_kb"] = document["assets"]["lambda_asset_kb"]

    if args.only == "cold":
        previous = json.loads(args.out.read_text()) if args.out.exists() else {}
        cold = _cold_imports(functions, args.import_repeats)
        cold["cold_import"]["measured_at"] = document["generated_at"]  # the rest is the previous run's
        document = {**previous, **document, **cold, "generated_at": previous.get("generated_at")}
        return _finish(document, args, started)
    if not args.skip_imports:
        document.update(_cold_imports(functions, args.import_repeats))

    _step(
        f"orders: every path once, then {args.order_repeats} happy orders per mode, {args.batches}x{args.batch} at once"
    )
    from bench import orders  # imports moto and the sandbox: only when needed

    bench_run = orders.run(args.cdk_out, args.order_repeats, args.batch, args.batches)
    throughput = bench_run.throughput.as_dict()
    document["throughput"] = throughput
    document["sandbox_over_direct_ratio"] = throughput["sandbox_over_direct_ratio"]
    document["sandbox_orders_per_second_sequential"] = throughput["sandbox_orders_per_second_sequential"]
    document["sandbox_orders_per_second_concurrent"] = throughput["sandbox_orders_per_second_concurrent"]
    retention_days = template.log_retention_days(args.cdk_out)
    paths = _paths_section(bench_run, retention_days)
    document["paths"] = paths
    happy = paths.get("happy", {})
    document["happy_path_transitions"] = happy.get("transitions")
    document["happy_path_lambda_invocations"] = happy.get("workflow_lambda_invocations")
    metrics = set().union(*(run.left.metrics for run in bench_run.paths))
    document["cost_per_million_orders"] = {
        **(happy.get("cost_per_million") or {}),
        # Not per order: what the stack costs a month with no orders at all.
        "fixed_monthly": template.fixed_costs(args.cdk_out, len(metrics)).monthly(),
    }
    document["kms_users"] = template.kms_users(args.cdk_out)
    document["cost_what_if_express"] = _express_what_if(bench_run, throughput, retention_days)
    per_order = capacity.UsagePerOrder.from_bench(document)
    document["capacity"] = capacity.model(per_order)
    # The committed per-order usage the capacity document is generated from (checked by a test).
    per_order.save()
    capacity.DOCUMENT_PATH.write_text(capacity.render(per_order))
    document["cost_check"] = {
        # The direct baseline must do the handlers' work exactly: same billed calls for the same order.
        "direct_calls": bench_run.happy_direct_calls.as_dict(),
        "sandbox_calls": bench_run.happy_sandbox.calls.as_dict(),
        "same": bench_run.happy_direct_calls.as_dict() == bench_run.happy_sandbox.calls.as_dict(),
    }
    durations = [d for run in bench_run.paths for _, _, d in run.invocations]
    document["prices"] = {
        "region": prices.REGION,
        "currency": prices.CURRENCY,
        "sources": prices.SOURCES,
        "lambda_memory_mb": sorted(set(bench_run.memory_mb.values())),
        "lambda_median_invocation_ms": round(statistics.median(durations), 1) if durations else None,
    }

    if not args.skip_synth:
        _step(f"cdk synth x{args.synth_repeats}")
        document.update(toolchain.synth_seconds(args.synth_repeats))
    if not args.skip_make_test:
        _step("make test (once)")
        document.update(toolchain.make_test_seconds())

    return _finish(document, args, started)


def _cold_imports(functions: list[template.FunctionInfo], repeats: int) -> dict[str, Any]:
    _step(f"cold imports: {len(functions)} handlers x {repeats}, each after a boto3 baseline")
    cold = coldstart.measure(functions, repeats)
    worst = next(f for f in functions if f.short_name == cold["worst_handler"])
    cold["extra_over_boto3"] = coldstart.extra_cost(worst)
    # The handler most like the others (the median one) and the worst: how much is compiling our code.
    typical = sorted(cold["handlers"].items(), key=lambda kv: kv[1]["ratio"])[len(cold["handlers"]) // 2][0]
    cold["bytecode"] = {
        name: coldstart.precompiled(next(f for f in functions if f.short_name == name), repeats)
        for name in dict.fromkeys([typical, cold["worst_handler"]])
    }
    return {"cold_import": cold, "cold_import_ratio_max": cold["cold_import_ratio_max"]}


def _finish(document: dict[str, Any], args: argparse.Namespace, started: float) -> int:
    document["goals"] = report.judge(document)
    document["notes"] = notes.closing(document)
    document["machine"]["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    document["bench_seconds"] = round(time.perf_counter() - started, 1)
    report.write(document, args.out)
    print(report.table(document))
    print(f"\nwritten: {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
