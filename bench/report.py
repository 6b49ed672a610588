"""Goals, the JSON document (bench/results/latest.json) and the table printed by `make bench`."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import cost, prices


@dataclass(frozen=True)
class Goal:
    key: str  # the top-level JSON key it judges
    limit: float
    what: str

    def judge(self, value: float | None) -> dict[str, Any]:
        return {
            "value": value,
            "limit": self.limit,
            "met": value is not None and value <= self.limit,
            "what": self.what,
        }


GOALS = (
    Goal(
        "cold_import_ratio_max",
        1.25,
        "slowest handler's cold import / cold `import boto3` (fastest CPU times, as many samples each)",
    ),
    Goal("sandbox_over_direct_ratio", 2.0, "happy-path order through the sandbox / handlers called directly"),
    Goal("happy_path_transitions", 9, "state transitions of a happy-path order (billed by Step Functions)"),
    Goal("happy_path_lambda_invocations", 5, "Lambda tasks of a happy-path order (the workflow's own)"),
)


def judge(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {goal.key: goal.judge(document.get(goal.key)) for goal in GOALS}


# Blocks other commands write into the same file (`make burst`: bench/burst.py): a bench run keeps them.
WRITTEN_BY_OTHERS = ("burst",)


def write(document: Mapping[str, Any], path: Path) -> None:
    previous = json.loads(path.read_text()) if path.exists() else {}
    kept = {key: previous[key] for key in WRITTEN_BY_OTHERS if key in previous and key not in document}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**document, **kept}, indent=2, sort_keys=False) + "\n")


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------
def _rows(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _money(value: float) -> str:
    return f"${value:,.2f}"


def table(document: Mapping[str, Any]) -> str:
    out: list[str] = []
    add: Callable[[str], None] = out.append
    goals = document["goals"]

    add("Goals")
    add_rows = [
        [key, str(g["value"]), f"<= {g['limit']:g}", "met" if g["met"] else "MISSED", g["what"]]
        for key, g in goals.items()
    ]
    out.extend(_rows(["goal", "value", "target", "", "what"], add_rows))

    cold = document.get("cold_import")
    if cold:
        add("")
        add(
            f"Cold import (fresh interpreter, Lambda environment, CPU ms, fastest and median of {cold['repeats']}); "
            f"baseline `import boto3` = {cold.get('baseline_fastest_cpu_ms')} ms CPU fastest, "
            f"{cold['baseline_median_cpu_ms']} median, {cold['baseline_median_wall_ms']} ms wall median"
        )
        rows = [
            [
                name,
                f"{h.get('fastest_cpu_ms', 0):.0f}",
                f"{h['ratio']:.2f}",
                f"{h.get('median_ratio', 0):.2f}",
                f"{h['pair_ratio_median']:.2f}",
                f"{h['wall_ratio']:.2f}",
            ]
            for name, h in sorted(cold["handlers"].items(), key=lambda kv: -kv[1]["ratio"])
        ]
        out.extend(_rows(["handler", "CPU ms", "ratio", "median ratio", "pair ratio", "wall ratio"], rows))
        add(f"  median over handlers: {cold.get('cold_import_ratio_median')}")
        if cold.get("extra_over_boto3"):
            extra = ", ".join(f"{e['package']} {e['self_ms']} ms" for e in cold["extra_over_boto3"])
            add(f"  {cold['worst_handler']} imports beyond boto3's own (self time, -X importtime): {extra}")

    throughput = document.get("throughput")
    if throughput:
        add("")
        add(f"Orders: happy path, median of {throughput['repeats']} each, interleaved")
        rows = [
            [
                "sandbox (workflow + subscribers)",
                f"{throughput['sandbox_median_ms_per_order']:.0f} ms",
                f"{throughput['sandbox_orders_per_second_sequential']:.1f} orders/s sequential",
            ],
            ["direct (same handlers in sequence)", f"{throughput['direct_median_ms_per_order']:.0f} ms", ""],
            [
                f"sandbox, {throughput['concurrent_batch_size']} at once",
                "",
                f"{throughput['sandbox_orders_per_second_concurrent']:.1f} orders/s concurrent",
            ],
        ]
        out.extend(_rows(["run", "per order", "throughput"], rows))

    paths = document.get("paths")
    if paths:
        add("")
        add(
            f"Per order, by path (counted from the execution history and the handlers' calls); $ per million orders, "
            f"{prices.REGION} list prices"
        )
        services = list(cost.SERVICES)
        rows = []
        for name, p in paths.items():
            split = p["cost_per_million"]
            rows.append(
                [
                    name,
                    p["status"],
                    str(p["transitions"]),
                    str(p["workflow_lambda_invocations"]),
                    str(p["usage"]["lambda_requests"]),
                    f"{p['usage']['dynamodb_wru']:g}/{p['usage']['dynamodb_rru']:g}",
                    *(_money(split[s]) for s in services),
                    _money(split["total"]),
                ]
            )
        headers = ["path", "status", "trans", "wf λ", "all λ", "WRU/RRU", *services, "total"]
        out.extend(_rows(headers, rows))
    fixed = (document.get("cost_per_million_orders") or {}).get("fixed_monthly")
    if fixed:
        parts = ", ".join(f"{name} {_money(value)}" for name, value in fixed.items() if name != "total")
        add(f"Fixed, a month whatever the orders: {_money(fixed['total'])} ({parts})")
    what_if = document.get("cost_what_if_express")
    if what_if:
        add("")
        add(express_what_if_line(what_if))

    capacity = document.get("capacity")
    if capacity:
        add("")
        add(
            f"Capacity (docs/CAPACITY.md): {capacity['max_orders_per_second']} orders/s, bound by "
            f"{capacity['binding_quota']}; after the usual increases {capacity['max_orders_per_second_raised']} "
            f"({capacity['binding_quota_raised']}); one hot product {capacity['hot_product_orders_per_second']}"
        )

    assets = document.get("assets")
    if assets:
        add("")
        distinct = assets["distinct_assets"]
        shared = " (one asset shared by every function)" if len(distinct) == 1 else ""
        add(
            f"Lambda assets: {len(assets['lambda_asset_kb'])} functions, zipped {assets['lambda_asset_kb_max']} KB max"
            f"{shared}; contents: {', '.join(distinct[0]['top_level']) if distinct else '-'}"
        )

    loop = [
        f"synth {document['synth_seconds']} s (median)" if document.get("synth_seconds") is not None else None,
        f"make test {document['make_test_seconds']} s ({document.get('make_test_summary', '')})"
        if document.get("make_test_seconds") is not None
        else None,
    ]
    if any(loop):
        add("")
        add("Developer loop: " + "; ".join(x for x in loop if x))

    notes = document.get("notes") or []
    if notes:
        add("")
        add("Notes")
        out.extend(f"- {note}" for note in notes)
    return "\n".join(out)


def express_what_if_line(what_if: Mapping[str, Any]) -> str:
    """One paragraph: the Express what-if's totals per million orders (bench.cost.express_what_if)."""
    standard, split = what_if["standard_only"], what_if["express_fast_path"]
    return (
        f"What-if, not built: happy path on Express, orders waiting for a review on Standard "
        f"({what_if['review_share']:.0%} of orders): {_money(split['mix']['total'])} per million orders instead of "
        f"{_money(standard['mix']['total'])} (Step Functions {_money(standard['mix']['stepfunctions'])} -> "
        f"{_money(split['mix']['stepfunctions'])}, CloudWatch Logs {_money(standard['mix']['cloudwatch_logs'])} -> "
        f"{_money(split['mix']['cloudwatch_logs'])}: the execution log at ALL replaces the history). Gives up: "
        + "; ".join(what_if["gives_up"])
        + "."
    )
