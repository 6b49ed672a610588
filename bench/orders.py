"""Orders through the sandbox vs the same handlers called directly, and what every path uses.

Both runs happen in ONE sandbox (the synthesized template deployed into moto, catalog seeded as
`make demo` seeds it), so the tables, queues, bus, rules, moto fixes and warm handler modules are
the same; only the engine differs:

- sandbox: StartExecution; moto's Step Functions interpreter runs the ASL on its worker thread, the
  sandbox's Lambda runtime runs each task handler, EventBridge delivery runs the subscribers on its
  pool; the runner polls for the end and drains the deliveries.
- direct: the happy path's handlers called one after another in this thread with their deployed
  environment, the two service integrations of the ASL (sqs:SendMessage, events:PutEvents) called
  with boto3, and every subscriber the bus routes the events to called right after the publish.

The ratio of the two is the engine's overhead. The per-path pass runs one order per path in
isolation and reads what it used: transitions and Lambda tasks from the history, every Lambda
invocation (subscribers and the reviewer's too) from the sandbox, and the handlers' billed API calls
from bench.meter.
"""

from __future__ import annotations

import gc
import json
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import cost, footprint, history
from bench.meter import Calls, Meter
from lambdas.shared import constants, events
from sandbox import lambda_runtime, moto_fixes, scenarios
from sandbox.account import ACCOUNT_ID, Sandbox
from sandbox.demo import REVIEWERS, deployed_pricing, review_timeout_seconds
from sandbox.events import lambda_event
from sandbox.runner import OrderResult, Runner

# Benchmark orders: one unit of a deep-stock SKU each, in turn, so ~100 orders neither run out nor
# trigger a reorder suggestion midway (which would add work to some orders only).
BENCH_SKUS = ("MUG-BLUE", "NOTEBOOK-A5-DOT", "TEE-ORGANIC-M")


# ---------------------------------------------------------------------------
# Direct baseline
# ---------------------------------------------------------------------------
@dataclass
class _Delivery:
    function_arn: str
    event: Any


class DirectRunner:
    """The happy path without the engine: handlers in sequence, subscribers after each publish."""

    def __init__(self, sandbox: Sandbox, meter: Meter | None = None) -> None:
        self._sandbox = sandbox
        self._meter = meter
        self._lambda = sandbox.client("lambda")
        self._sqs = sandbox.client("sqs")
        self._events = sandbox.client("events")
        self._specs: dict[str, lambda_runtime.FunctionSpec] = {}  # by handler and by function ARN
        for spec in sandbox.function_specs():
            self._specs[spec.handler] = spec
            self._specs[spec.arn] = spec
        self._bus = sandbox.outputs[constants.OUTPUT_EVENT_BUS_NAME]
        self._pending: list[_Delivery] = []
        self.invocations: list[tuple[str, float]] = []  # (handler, ms) of every handler call

    def call(self, handler_path: str, event: Any) -> Any:
        """Run a handler as Lambda would (its environment, a context, JSON in and out), no engine."""
        spec = self._specs[handler_path]
        payload = json.loads(json.dumps(event))
        started = time.perf_counter()
        counting = self._meter.acting_as(spec.name) if self._meter else nullcontext()
        with counting, lambda_runtime.function_environment(lambda_runtime.lambda_environment(spec)):
            handler = lambda_runtime.load_handler(spec.handler)
            context = lambda_runtime.LambdaContext(spec, str(uuid.uuid4()), time.monotonic() + spec.timeout_seconds)
            result = json.loads(json.dumps(handler(payload, context)))
        self.invocations.append((spec.handler, (time.perf_counter() - started) * 1000))
        return result

    def happy_path(self, order: dict[str, Any]) -> dict[str, Any]:
        """The ASL's happy path (statemachines/order_workflow.asl.json), state by state."""
        tasks = constants.TASK_FUNCTIONS
        valid = self.call(tasks["ValidateOrderFunctionArn"], {"order": order, "executionName": order["orderId"]})
        reservation = self.call(tasks["ReserveStockFunctionArn"], {"order": valid})
        pricing = self.call(tasks["PriceOrderFunctionArn"], {"order": valid})
        payment = self.call(
            tasks["CollectPaymentFunctionArn"],
            {
                "orderId": valid["orderId"],
                "customerId": valid["customer"]["id"],
                "amountCents": pricing["totalCents"],
                "currency": pricing["currency"],
                "payment": valid["payment"],
            },
        )
        if payment["status"] != "APPROVED":
            raise RuntimeError(f"direct happy path: payment {payment['status']} for {valid['orderId']}")
        self._sqs.send_message(  # NotifyWarehouse
            QueueUrl=reservation["queueUrl"],
            MessageBody=json.dumps(
                {
                    "type": "ShipOrder",
                    "orderId": valid["orderId"],
                    "warehouseId": reservation["warehouseId"],
                    "items": valid["items"],
                    "shippingAddress": valid["shippingAddress"],
                }
            ),
            MessageGroupId=valid["orderId"],
            MessageDeduplicationId=valid["orderId"],
        )
        accounting = self.call(
            tasks["RecordAccountingFunctionArn"],
            {"orderId": valid["orderId"], "pricing": pricing, "chargeId": payment["chargeId"]},
        )
        data = {
            "orderId": valid["orderId"],
            "customer": valid["customer"],
            "siteVariant": valid["siteVariant"],
            "channel": valid["channel"],
            "fulfilment": valid["fulfilment"],
            "destinationCountry": valid["shippingAddress"]["country"],
            "warehouseId": reservation["warehouseId"],
            **{k: pricing[k] for k in ("lines", "subtotalCents", "taxCents", "shippingCents", "totalCents")},
            "currency": pricing["currency"],
        }
        detail = events.envelope(data, valid["orderId"], constants.WORKFLOW_PRODUCER)
        detail["metadata"]["executionArn"] = f"direct:{valid['orderId']}"
        with self._collecting():
            self._events.put_events(  # PublishOrderCompleted
                Entries=[events.put_events_entry(self._bus, constants.EVENT_ORDER_COMPLETED, detail)]
            )
            self._deliver_all()
        return {"orderId": valid["orderId"], "transactionId": accounting["transactionId"]}

    # -- the bus without the delivery engine -------------------------------------------------------
    @contextmanager
    def _collecting(self) -> Iterator[None]:
        """Route matched Lambda targets to a list (called in sequence after the publish) instead of
        the sandbox's asynchronous delivery; other targets (the archive) stay with moto."""
        hooks = moto_fixes.hooks
        saved = hooks.send_to_lambda_targets
        hooks.send_to_lambda_targets = self._collect
        try:
            yield
        finally:
            hooks.send_to_lambda_targets = saved

    def _collect(self, rule: Any, original_event: dict[str, Any], original: Callable[..., None]) -> None:
        if rule.state == "DISABLED" or not rule.event_pattern.matches_event(original_event):
            return
        lambda_targets = [t for t in rule.targets if ":lambda:" in t["Arn"]]
        others = [t for t in rule.targets if t not in lambda_targets]
        if others:
            import copy

            rest = copy.copy(rule)
            rest.targets = others
            original(rest, original_event)
        for target in lambda_targets:
            self._pending.append(_Delivery(target["Arn"], lambda_event(target, original_event)))

    def _deliver_all(self) -> None:
        while self._pending:  # subscribers may publish in turn (ReorderSuggested)
            delivery = self._pending.pop(0)
            self.call(self._specs[delivery.function_arn].handler, delivery.event)


def bench_order(storefront: scenarios.Storefront, prefix: str, serial: int) -> dict[str, Any]:
    return storefront.order(prefix, [(BENCH_SKUS[serial % len(BENCH_SKUS)], 1)], "DE", variant="checkout-v2")


# ---------------------------------------------------------------------------
# Sandbox runs
# ---------------------------------------------------------------------------
def through_sandbox(sandbox: Sandbox, runner: Runner, orders: list[dict[str, Any]]) -> list[str]:
    """Start the orders at once, wait for every execution and every subscriber delivery.

    The runner's own wait polls every 20 ms; polling faster was tried and is slower (1 ms: +10%):
    each poll is a moto call that competes with the execution's worker thread for the GIL.
    """
    arns = [runner.start(order) for order in orders]
    runner.wait(arns, timeout=120.0)
    sandbox.drain()
    return arns


@dataclass
class ThroughputResult:
    sandbox_ms: list[float] = field(default_factory=list)
    direct_ms: list[float] = field(default_factory=list)
    concurrent_batches: list[tuple[int, float]] = field(default_factory=list)  # (orders, seconds)
    failures: list[str] = field(default_factory=list)
    direct_handler_ms: dict[str, list[float]] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return statistics.median(self.sandbox_ms) / statistics.median(self.direct_ms)

    def as_dict(self) -> dict[str, Any]:
        sandbox_median = statistics.median(self.sandbox_ms)
        concurrent = [n / s for n, s in self.concurrent_batches]
        return {
            "sandbox_over_direct_ratio": round(self.ratio, 3),
            "sandbox_median_ms_per_order": round(sandbox_median, 1),
            "direct_median_ms_per_order": round(statistics.median(self.direct_ms), 1),
            "sandbox_orders_per_second_sequential": round(1000 / sandbox_median, 2),
            "sandbox_orders_per_second_concurrent": round(statistics.median(concurrent), 2) if concurrent else None,
            "concurrent_batch_size": self.concurrent_batches[0][0] if self.concurrent_batches else 0,
            "repeats": len(self.sandbox_ms),
            "sandbox_ms": [round(x, 1) for x in self.sandbox_ms],
            "direct_ms": [round(x, 1) for x in self.direct_ms],
            "direct_handler_median_ms": {
                handler: round(statistics.median(values), 2) for handler, values in self.direct_handler_ms.items()
            },
            "failures": self.failures,
        }


def throughput(
    sandbox: Sandbox, storefront: scenarios.Storefront, repeats: int, batch: int, batches: int
) -> ThroughputResult:
    runner = sandbox.runner()
    direct = DirectRunner(sandbox)
    result = ThroughputResult()

    serial = iter(range(1_000_000))

    def new_order(prefix: str) -> dict[str, Any]:
        return bench_order(storefront, prefix, next(serial))

    # Warm up both (imports, clients, parsed ASL) outside the measurement.
    through_sandbox(sandbox, runner, [new_order("warm-sbx")])
    direct.happy_path(new_order("warm-dir"))
    direct.invocations.clear()
    for index in range(repeats):
        # Alternate which goes first so a load change on this shared machine hits both alike.
        for mode in ("sandbox", "direct") if index % 2 == 0 else ("direct", "sandbox"):
            order = new_order(f"bench-{mode[:3]}")
            # A full collection now, outside the timing: otherwise one order pays for the garbage of
            # all before it (the process holds the whole moto account; a gen-2 pass costs 100+ ms).
            gc.collect()
            started = time.perf_counter()
            if mode == "sandbox":
                arns = through_sandbox(sandbox, runner, [order])
                result.sandbox_ms.append((time.perf_counter() - started) * 1000)
                status = runner.status(arns[0])
                if status != "SUCCEEDED":
                    result.failures.append(f"{order['orderId']}: {status}")
            else:
                direct.happy_path(order)
                result.direct_ms.append((time.perf_counter() - started) * 1000)
    for handler, ms in direct.invocations:
        result.direct_handler_ms.setdefault(
            handler.removeprefix("lambdas.").removesuffix(".handler.handler"), []
        ).append(ms)
    for _ in range(batches):
        orders = [new_order("bench-con") for _ in range(batch)]
        gc.collect()
        started = time.perf_counter()
        arns = through_sandbox(sandbox, runner, orders)
        result.concurrent_batches.append((batch, time.perf_counter() - started))
        result.failures.extend(
            f"{arn.rsplit(':', 1)[-1]}: {status}" for arn in arns if (status := runner.status(arn)) != "SUCCEEDED"
        )
    return result


# ---------------------------------------------------------------------------
# Per path: what one order uses
# ---------------------------------------------------------------------------
@dataclass
class PathRun:
    path: str
    order_id: str
    status: str
    error: str | None
    counts: history.HistoryCounts
    invocations: list[tuple[str, str, float]]  # (function name, handler, duration ms)
    calls: Calls
    left: footprint.Footprint  # logs (the execution log included), metrics, stored bytes
    # The execution log this order would write at level ALL (bytes, compressed): the Express what-if's record.
    log_at_all: tuple[int, int] = (0, 0)

    def usage(self, memory_mb: dict[str, int]) -> cost.Usage:
        usage = cost.Usage(
            transitions=self.counts.transitions,
            eventbridge_events=self.counts.eventbridge_events + self.calls.eventbridge_events,
            sqs_requests=self.counts.sqs_requests + self.calls.sqs_requests,
            dynamodb_wru=self.calls.dynamodb_wru,
            dynamodb_rru=self.calls.dynamodb_rru,
            ses_emails=self.calls.ses_emails,
            log_bytes=self.left.log_bytes,
            log_stored_bytes=self.left.log_stored_bytes,
            # One trace per order: the execution's, which its Lambda tasks join and EventBridge passes on
            # to the subscribers (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-related-service-xray.html).
            traces=1,
            # Every KMS user in the path caches its data key (template.kms_users): requests scale with
            # time, not orders, and are in the fixed block.
            kms_requests=0.0,
            stored_bytes=self.left.stored_bytes,
        )
        for function, handler, duration_ms in self.invocations:
            usage.add_invocation(_short(handler), memory_mb.get(function, constants.LAMBDA_MEMORY_MB), duration_ms)
        return usage


def _short(handler: str) -> str:
    return handler.removeprefix("lambdas.").removesuffix(".handler.handler")


def one_path(
    sandbox: Sandbox, runner: Runner, meter: Meter, scenario: scenarios.Scenario, reader: footprint.Reader
) -> PathRun:
    """Run one order alone (its reviewer acts, or the review timeout passes), count what it used."""
    sandbox.drain()
    meter.take()
    reader.take()
    first = len(sandbox.invocations)
    arn = runner.start(scenario.order)
    if scenario.reviewer_decision:
        runner.wait_for_task_token(scenario.order_id)
        reviewer = REVIEWERS[scenario.reviewer_decision]
        runner.decide_review(scenario.order_id, scenario.reviewer_decision, reviewer, note="bench")
    elif scenario.path == scenarios.REVIEW_TIMED_OUT:
        runner.wait_for_task_token(scenario.order_id)
        sandbox.clock.advance(review_timeout_seconds(sandbox) + 1)
    runner.wait([arn], timeout=120.0)
    sandbox.drain()
    calls = meter.take()
    left = reader.take()
    result: OrderResult = runner.result(arn)
    execution_log = history.execution_log_lines(result.history, arn, execution_log_level(sandbox))
    left.log_bytes += sum(len(line.encode()) for line in execution_log)
    left.log_stored_bytes += footprint.compressed_size(execution_log)
    at_all = history.execution_log_lines(result.history, arn, "ALL")
    invocations = [(i.function, i.handler, i.duration_ms) for i in sandbox.invocations[first:]]
    return PathRun(
        scenario.path,
        scenario.order_id,
        result.status,
        result.error,
        history.count(result.history),
        invocations,
        calls,
        left,
        (sum(len(line.encode()) for line in at_all), footprint.compressed_size(at_all)),
    )


def execution_log_level(sandbox: Sandbox) -> str:
    """The state machine's execution-log level, as the template sets it (OFF when it has no logging)."""
    assert sandbox.deployment is not None
    (machine,) = (
        resource.get("Properties", {})
        for resource in sandbox.deployment.template["Resources"].values()
        if resource.get("Type") == "AWS::StepFunctions::StateMachine"
    )
    return str(machine.get("LoggingConfiguration", {}).get("Level", "OFF"))


def path_scenarios(storefront: scenarios.Storefront, catalog: dict[str, Any]) -> list[scenarios.Scenario]:
    """One order per path of the demo's batch (the race is the happy or out-of-stock path again)."""
    seen: dict[str, scenarios.Scenario] = {}
    for scenario in scenarios.batch(storefront, catalog):
        if scenario.path != scenarios.RACE and scenario.path not in seen:
            seen[scenario.path] = scenario
    return list(seen.values())


@dataclass
class SandboxBench:
    throughput: ThroughputResult
    paths: list[PathRun]  # one order per path of the demo's batch
    # The same benchmark order once through the sandbox, once direct: their handlers' API calls
    # must agree (a check that the direct baseline does the same work).
    happy_sandbox: PathRun
    happy_direct_calls: Calls
    memory_mb: dict[str, int]


def run(cdk_out: Path, repeats: int, batch: int, batches: int) -> SandboxBench:
    with Sandbox(cdk_out, seed_catalog=scenarios.CATALOG_PATH) as sandbox:
        assert sandbox.deployment is not None
        memory = {name: int(props.get("MemorySize", 128)) for name, props in sandbox.deployment.functions().items()}
        catalog = scenarios.load_catalog()
        storefront = scenarios.Storefront(catalog, deployed_pricing(sandbox))
        # Paths first, on fresh stock (the out-of-stock and review scenarios are sized from it).
        runner = sandbox.runner()
        ttl = {
            sandbox.deployment.resources[logical].physical_id: spec["AttributeName"]
            for logical, resource in sandbox.deployment.template["Resources"].items()
            if (spec := resource.get("Properties", {}).get("TimeToLiveSpecification", {})).get("Enabled")
        }
        reader = footprint.Reader(ACCOUNT_ID, sandbox.region, sandbox.clock.now, ttl)
        with Meter() as meter:
            # A first pass warms every handler (imports, boto3 clients): billed durations are warm ones.
            for scenario in path_scenarios(storefront, catalog):
                one_path(sandbox, runner, meter, scenario, reader)
            paths = [one_path(sandbox, runner, meter, s, reader) for s in path_scenarios(storefront, catalog)]
            direct = DirectRunner(sandbox, meter)
            meter.take()
            direct.happy_path(bench_order(storefront, "meter-dir", 0))
            direct_calls = meter.take()
            happy = scenarios.Scenario(scenarios.HAPPY, bench_order(storefront, "meter-sbx", 0))
            happy_sandbox = one_path(sandbox, runner, meter, happy, reader)
        measured = throughput(sandbox, storefront, repeats, batch, batches)
    return SandboxBench(measured, paths, happy_sandbox, direct_calls, memory)
