"""The closing note: for every missed goal, what costs the time and what was tried; then the model's limits.

What was tried is written down here once (it is history, not a measurement); everything else is read
from the run's own figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench import cost, prices

COLD_IMPORT_TRIED = (
    "Tried: (1) the Tracer now patches botocore only (lambdas/shared/observability.py): X-Ray's default "
    "patch_all imported every library it supports that happened to be installed (requests, "
    "charset_normalizer, sqlite3, SQLAlchemy, mysql-connector), about 20-25 ms CPU and 110 modules per "
    "handler here; (2) boto3 imported by lambdas/shared/adapters/__init__.py, before any adapter's "
    "botocore import: the five payment functions measured 35-60 ms CPU more than the others without it "
    "(same modules and calls; urllib3's regex compilation ran ~5x slower in that import order on CPython "
    "3.11, cause not pinned down; to re-check on python3.13); (3) no pydantic/jsonschema in the workflow's "
    "tasks (a hand-written validator). "
    "What is left: the X-Ray SDK (the Tracer builds its recorder on import; active tracing is on in the "
    "template) with wrapt, whose 2.x line imports asyncio (the venv pins wrapt 2.5.2; the layer may ship "
    "1.x); Powertools Logger/Metrics; our own modules, compiled from source on every cold start "
    "(/var/task is read-only and the asset ships no .pyc). Not done: dropping the Tracer (a design "
    "change) or deferring it to the first invocation (moves the cost, still a cold start); precompiled "
    "bytecode needs a python3.13 build step in infra/functions.py (measured above with this Python's own "
    "bytecode; this machine has no python3.13 and no Docker for CDK's bundling image). The order API's extra is "
    "Powertools' event handler with OpenAPI validation (pydantic, pydantic_core): a design choice of the front "
    "door, not removed here."
)
SANDBOX_TRIED = (
    "Tried: polling for the end faster than the runner's 20 ms (1, 2, 5 ms): slower, each poll is a moto "
    "call competing with the execution's worker thread for the GIL; handlers, clients and the parsed ASL "
    "are warm before measuring. The rest is moto's Step Functions interpreter (a worker thread per "
    "execution, JSONPath per state, history events), the Lambda runtime's thread per invocation and "
    "CloudWatch log writes, and the EventBridge delivery pool: sandbox/ and sandbox/moto_fixes/."
)


def closing(document: Mapping[str, Any]) -> list[str]:
    notes: list[str] = []
    goals = document.get("goals", {})

    cold = document.get("cold_import")
    if cold:
        goal = goals.get("cold_import_ratio_max", {})
        extra = ", ".join(f"{e['package']} {e['self_ms']} ms" for e in cold.get("extra_over_boto3", []))
        worst = cold["worst_handler"]
        verdict = "met" if goal.get("met") else "MISSED"
        notes.append(
            f"Cold import {verdict}: worst {worst} at {cold['cold_import_ratio_max']}x boto3 "
            f"({cold['handlers'][worst]['median_cpu_ms']} vs {cold['baseline_median_cpu_ms']} ms CPU), median "
            f"handler {cold.get('cold_import_ratio_median')}x. Every handler loads the same third-party set "
            "(boto3, Powertools, the X-Ray SDK); they differ by their own modules only, so much of the spread "
            f"between handlers is this shared machine's noise. What {worst} imports beyond boto3 (self time, "
            f"median of 5 -X importtime runs): {extra}."
        )
        floor = cold.get("floor_ratio") or {}
        if floor:
            notes.append(
                f"The floor every handler shares, measured in the same run: boto3 + Powertools Logger/Metrics "
                f"{floor.get('boto3_powertools_no_tracer')}x boto3, + the Tracer (X-Ray recorder, botocore patched) "
                f"{floor.get('boto3_powertools_tracer')}x. The rest of a handler's figure is its own code."
            )
        for name, figures in (cold.get("bytecode") or {}).items():
            notes.append(
                f"{name}: {figures['from_source_ratio']}x with our modules compiled at import (as the asset ships: "
                f"/var/task is read-only, no .pyc), {figures['precompiled_ratio']}x with bytecode compiled ahead."
            )
        if not goal.get("met"):
            notes.append(COLD_IMPORT_TRIED)

    throughput = document.get("throughput")
    if throughput:
        goal = goals.get("sandbox_over_direct_ratio", {})
        handlers = throughput.get("direct_handler_median_ms", {})
        busiest = sorted(handlers.items(), key=lambda kv: -kv[1])[:3]
        direct_ms = throughput["direct_median_ms_per_order"]
        engine_ms = throughput["sandbox_median_ms_per_order"] - direct_ms
        verdict = "met" if goal.get("met") else "MISSED"
        notes.append(
            f"Sandbox/direct {verdict}: {throughput['sandbox_median_ms_per_order']} vs {direct_ms} ms per order; "
            f"the engine adds {engine_ms:.0f} ms. The handlers' own work (in-memory moto) is the rest; the "
            f"slowest: " + ", ".join(f"{name} {ms} ms" for name, ms in busiest) + "."
        )
        if not goal.get("met"):
            notes.append(SANDBOX_TRIED)
        sequential = throughput.get("sandbox_orders_per_second_sequential") or 0
        concurrent = throughput.get("sandbox_orders_per_second_concurrent") or 0
        if concurrent and concurrent < sequential:
            notes.append(
                f"Orders started together ({concurrent} orders/s) are not faster than one after another "
                f"({sequential} orders/s): every execution's worker, every handler and every delivery run in "
                "one interpreter (one GIL), and the sandbox runs DynamoDB calls one at a time (its "
                "dynamodb-serializable fix), so concurrency adds thread switching, not parallelism."
            )
        if throughput.get("failures"):
            notes.append(f"Orders that did not succeed during the timing runs: {throughput['failures']}")

    if document.get("make_test_ok") is False:
        problems = "; ".join(document.get("make_test_problems") or []) or document.get("make_test_summary", "")
        notes.append(f"`make test` did not pass in this run (its time is still reported): {problems}")

    check = document.get("cost_check")
    if check and not check.get("same"):
        notes.append("The direct baseline's billed calls differ from the sandbox's for the same order: see cost_check.")

    happy = (document.get("paths") or {}).get("happy")
    if happy:
        usage = happy["usage"]
        sensitivity = cost.Usage(lambda_requests=usage["lambda_requests"])
        memory = (document.get("prices") or {}).get("lambda_memory_mb") or [256]
        for _ in range(usage["lambda_requests"]):
            sensitivity.lambda_gb_seconds += cost.gb_seconds(max(memory), 100.0)
        at_100ms = cost.cost_per_million(sensitivity)["lambda"]
        notes.append(
            f"Lambda cost uses durations measured in-process on this machine against in-memory moto "
            f"(median {document.get('prices', {}).get('lambda_median_invocation_ms')} ms); in AWS a "
            f"{max(memory)} MB function gets a fraction of a vCPU and DynamoDB is a network round trip away, so "
            f"billed durations are longer: at 100 ms per invocation the happy path's Lambda share would be "
            f"${at_100ms:,.2f} per million orders instead of ${happy['cost_per_million']['lambda']:,.2f}."
        )
    notes.append(
        f"Prices: {prices.REGION} list prices (bench/prices.py cites each page); SES (the confirmation e-mail) is "
        "included because the happy path sends one. Logs: the bytes the functions wrote to their log groups "
        "plus the execution log's records (from the history); X-Ray: one trace per order at the default "
        "sampling rule's 5%; KMS: every user caches its data key, so its requests are in fixed_monthly; "
        "storage: DynamoDB bytes the order leaves, each item until its TTL or a year, with PITR. Not modelled: "
        "the warehouse's own SQS receive/delete, the event archive, data transfer, free tiers, and Lambda "
        "INIT billing on cold starts."
    )
    return notes
