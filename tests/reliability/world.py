"""The world the reliability suites run in: one sandbox (the synthesized stack, deployed into moto),
a fault injector on every Lambda invocation, a catalog with known stock, and a record of every order.

Every suite runs its orders through ``World.run_batch`` (start at once, reviewers decide, unattended
reviews time out on the sandbox clock, wait, let the subscribers finish, read the results) and then
asks ``invariants.check`` about them: the per-order checks for each order of the batch, the global
ones (stock conserved, subscriber counters equal to what the orders add up to...) for the whole world.
"""

from __future__ import annotations

import inspect
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from lambdas.shared import constants
from lambdas.shared.pricing import Pricing
from sandbox import scenarios
from sandbox.account import Sandbox
from sandbox.faults import (
    ASYNC_PREFIX,
    DELIVERY_KINDS,
    INTEGRATION_STEPS,
    Budget,
    Fault,
    FaultInjector,
    Kind,
    absorbed_by,
    beyond_budget,
)
from sandbox.reviewers import decision_payload
from sandbox.runner import TERMINAL, OrderResult, Runner
from tests.reliability import model

POLL_SECONDS = 0.1
# Generous: a batch of orders with retried faults on two shared cores; never a timed assertion.
BATCH_TIMEOUT_SECONDS = 600.0
REVIEWER = "reliability@example.com"
# Happy-path stock: enough that no order of the randomized suites is short by accident.
AMPLE_STOCK = 100_000


@dataclass
class OrderRun:
    """One order through the workflow: what was asked, what was planned to go wrong, what happened."""

    path: str
    order: Any  # the execution input (anything, for bad input)
    name: str  # the execution name (= orderId for every well-formed order)
    faults: list[Fault] = field(default_factory=list)
    decision: str | None = None  # a reviewer's "approve" / "reject"; None: nobody decides
    expected: model.Expected | None = None
    allowed: frozenset[tuple[str, str | None]] = frozenset()  # acceptable (status, error) when racing
    expected_field: str | None = None  # bad input: the field the cause must name
    result: OrderResult | None = None
    decisions: list[str] = field(default_factory=list)  # what the reviewer was told, per attempt
    repaired: str | None = None  # how an order left for a person was finished (orderctl repair, a redrive)

    @property
    def order_id(self) -> str:
        return self.name

    @property
    def lines(self) -> dict[str, int]:
        items = self.order.get("items", []) if isinstance(self.order, dict) else []
        return {line["sku"]: int(line["quantity"]) for line in items if isinstance(line, dict)}


@dataclass
class Totals:
    orders: int = 0  # well-formed orders run through the workflow
    bad_inputs: int = 0


class World:
    def __init__(self, sandbox: Sandbox, injector: FaultInjector, seed: int, out: TextIO | None = None) -> None:
        self.sandbox = sandbox
        self.injector = injector
        self.seed = seed
        self.rng = random.Random(seed)
        self.out = out
        self.started = time.monotonic()
        self.runner: Runner = sandbox.runner()
        self.sfn = sandbox.client("stepfunctions")
        self.orders: dict[str, OrderRun] = {}  # every well-formed order, by order id
        self.rejected: dict[str, OrderRun] = {}  # bad input, by execution name: must leave no trace
        self.initial_stock: dict[tuple[str, str], int] = {}
        self.catalog: dict[str, Any] = {"products": []}
        self.warehouse_messages: list[dict[str, Any]] = []
        self.totals = Totals()
        self.integration_faults = False  # can service integrations be faulted (the sandbox's integration_hook)?
        self.tally: Counter[str] = Counter()  # beyond_budget, permanent_subscriber, repaired, unrepaired
        self._names = 0
        self._lock = threading.Lock()
        self.pricing = _deployed_pricing(sandbox)
        self.review_timeout_seconds = int(
            sandbox.environment_of(constants.TASK_FUNCTIONS["CollectPaymentFunctionArn"])[
                constants.ENV_REVIEW_TIMEOUT_SECONDS
            ]
        )
        self.budgets: dict[str, Budget] = {**model.budgets(), **self._subscriber_budgets()}
        self.warehouses = json.loads(
            sandbox.environment_of(constants.TASK_FUNCTIONS["ReserveStockFunctionArn"])[constants.ENV_WAREHOUSES]
        )
        base = scenarios.load_catalog()
        for product in base["products"]:
            product["stock"] = {warehouse: AMPLE_STOCK for warehouse in product.get("stock", {})}
        self.add_products(base["products"])

    @classmethod
    @contextmanager
    def started(cls, cdk_out: Path | str, seed: int, out: TextIO | None = None) -> Iterator[World]:
        """The sandbox with the injector on every Lambda invocation, every service integration call of
        the workflow and every EventBridge delivery to a Lambda target."""
        injector = FaultInjector()
        hooks: dict[str, Any] = {}
        if "integration_hook" in inspect.signature(Sandbox).parameters:
            hooks["integration_hook"] = injector.integration
        with Sandbox(cdk_out, invocation_hook=injector, **hooks) as sandbox:
            assert sandbox.targets is not None
            sandbox.targets.delivery_hook = injector.delivery
            world = cls(sandbox, injector, seed, out)
            world.integration_faults = bool(hooks)
            yield world

    # -- output ---------------------------------------------------------------------------------------
    def say(self, message: str) -> None:
        if self.out is not None:
            print(f"[{time.monotonic() - self.started:6.1f}s] {message}", file=self.out, flush=True)

    # -- catalog and orders ---------------------------------------------------------------------------
    def add_products(self, products: Iterable[Mapping[str, Any]]) -> None:
        """Put products and their stock in the inventory table (the project's own seeder); their
        stock is the starting point stock conservation is checked against."""
        from examples.seed import seed_inventory

        added = {"products": [dict(p) for p in products]}
        with self.sandbox.client_environment():
            seed_inventory(self.sandbox.outputs[constants.OUTPUT_INVENTORY_TABLE], added)
        for product in added["products"]:
            for warehouse, units in product.get("stock", {}).items():
                self.initial_stock[(product["sku"], warehouse)] = int(units)
        self.catalog["products"].extend(added["products"])
        self.shop = scenarios.Storefront(self.catalog, self.pricing)

    def new_name(self, prefix: str) -> str:
        with self._lock:
            self._names += 1
            return f"{prefix}-{self.seed}-{self._names:05d}"

    def order(self, prefix: str, items: list[tuple[str, int]], **kwargs: Any) -> dict[str, Any]:
        """A well-formed order priced as the storefront shows it (sandbox/scenarios.py), with a fresh id."""
        order = self.shop.order(prefix, items, **kwargs)
        order["orderId"] = self.new_name(prefix)
        order["customer"]["id"] = f"cust-{order['orderId']}"
        return order

    # -- running --------------------------------------------------------------------------------------
    def start(self, run: OrderRun) -> str:
        self.injector.add(run.name, *run.faults)
        response = self.sfn.start_execution(
            stateMachineArn=self.runner.state_machine_arn, name=run.name, input=json.dumps(run.order)
        )
        return response["executionArn"]

    def run_batch(self, runs: list[OrderRun]) -> list[OrderRun]:
        """Start every order at once; reviewers decide; unattended reviews time out; wait; drain."""
        return self.run_batch_started(runs, [self.start(run) for run in runs])

    def run_batch_started(self, runs: list[OrderRun], started: list[str]) -> list[OrderRun]:
        """run_batch for orders already started (their execution ARNs, in the same order)."""
        arns = {run.name: arn for run, arn in zip(runs, started, strict=True)}
        reviewed = [run for run in runs if run.decision]
        unattended = [run for run in runs if run.path == scenarios.REVIEW_TIMED_OUT]
        for run in reviewed:
            self._decide(run, arns[run.name])
        self._wait([arns[r.name] for r in runs if r not in unattended])
        if unattended:
            # Advance only once every unattended order sleeps in the review (or ended early): an
            # order that starts waiting after the jump would wait the full timeout from then on.
            for run in unattended:
                self._waiting_or_ended(arns[run.name])
            self.sandbox.clock.advance(self.review_timeout_seconds + 1)
        self._wait(arns.values())
        if not self.sandbox.drain(BATCH_TIMEOUT_SECONDS):
            raise TimeoutError("EventBridge deliveries still in flight")
        for run in runs:
            run.result = self.runner.result(arns[run.name])
            if run.expected_field is None:
                self.orders[run.name] = run
                self.totals.orders += 1
            else:
                self.rejected[run.name] = run
                self.totals.bad_inputs += 1
        self.read_warehouse_queues()
        return runs

    def _wait(self, arns: Iterable[str]) -> None:
        pending = set(arns)
        deadline = time.monotonic() + BATCH_TIMEOUT_SECONDS
        while pending:
            pending = {arn for arn in pending if self.runner.status(arn) not in TERMINAL}
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} executions still running: {sorted(pending)[:3]}")
            if pending:
                time.sleep(POLL_SECONDS)

    def _waiting_or_ended(self, arn: str) -> bool:
        """Wait until the execution sleeps in WaitForPaymentReview (True) or has ended (False)."""
        deadline = time.monotonic() + BATCH_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.runner.status(arn) in TERMINAL:
                return False
            current = None
            for event in self.runner.history(arn):
                if "stateEnteredEventDetails" in event:
                    current = event["stateEnteredEventDetails"]["name"]
                elif current == "WaitForPaymentReview" and event["type"] == "TaskSubmitted":
                    return True
            time.sleep(POLL_SECONDS)
        raise TimeoutError(f"{arn} neither waits for review nor ended")

    def _decide(self, run: OrderRun, arn: str) -> None:
        """A reviewer decides as a person does (decide_payment_review); a refusal while the order
        still runs (not parked yet, or a retried request replaced the token) is tried again."""
        for _ in range(50):
            if not self._waiting_or_ended(arn):
                return
            response, error = self.decide(run.name, run.decision or "approve")
            run.decisions.append(f"{error}: {response.get('errorMessage')}" if error else "accepted")
            if not error:
                return
            time.sleep(POLL_SECONDS)

    def decide(self, order_id: str, decision: str) -> tuple[dict[str, Any], str | None]:
        payload = decision_payload(self.sandbox, order_id, decision, REVIEWER)
        response, error = self.sandbox.invoke(constants.REVIEW_DECISION_HANDLER, payload)
        return response if isinstance(response, dict) else {"response": response}, error

    # -- what the warehouses received -----------------------------------------------------------------
    def read_warehouse_queues(self) -> None:
        """Consume every ShipOrder / CancelShipment message, as the warehouses would."""
        sqs = self.sandbox.client("sqs")
        for warehouse in self.warehouses:
            while True:
                messages = sqs.receive_message(QueueUrl=warehouse["queueUrl"], MaxNumberOfMessages=10).get(
                    "Messages", []
                )
                if not messages:
                    break
                for message in messages:
                    self.warehouse_messages.append(json.loads(message["Body"]))
                    sqs.delete_message(QueueUrl=warehouse["queueUrl"], ReceiptHandle=message["ReceiptHandle"])

    # -- helpers ----------------------------------------------------------------------------------------
    def _step_budgets(self) -> dict[str, Budget]:
        """How each workflow step is retried: the README's table (tests/reliability/model.py), not the ASL."""
        return model.budgets()

    def _subscriber_budgets(self) -> dict[str, Budget]:
        """Lambda's async retries of each subscriber (its deployed EventInvokeConfig), or for one fed by its queue
        the queue's receives before its redrive (sandbox/queues.py)."""
        from sandbox.faults import ASYNC_KINDS, function_key

        lambda_ = self.sandbox.client("lambda")
        budgets = {}
        assert self.sandbox.deployment is not None and self.sandbox.queues is not None
        buffered = {m.function_arn: m for m in self.sandbox.queues.mappings}
        for name, properties in self.sandbox.deployment.functions().items():
            key = function_key(properties.get("Handler", ""))
            if not key.startswith("subscribers."):
                continue
            arn = lambda_.get_function_configuration(FunctionName=name)["FunctionArn"]
            mapping = buffered.get(arn)
            if mapping is not None and mapping.max_receive_count is not None:
                budgets[key] = Budget(mapping.max_receive_count - 1, ASYNC_KINDS, True, delivered_by_eventbridge=False)
                continue
            config = lambda_.get_function_event_invoke_config(FunctionName=name)
            budgets[key] = Budget(int(config["MaximumRetryAttempts"]), ASYNC_KINDS, retries_everything=True)
        return budgets

    def faults_injected(self) -> int:
        return len(self.injector.injected)

    # -- repairs ------------------------------------------------------------------------------------------
    def repair(self, run: OrderRun, stalled: bool) -> tuple[str | None, str]:
        """Finish an order left for a person: `orderctl repair ORDER_ID` when it exists, else, for an
        execution stalled after the commit point, Step Functions' RedriveExecution (redriving an
        Order.CompensationFailed execution would only re-enter its Fail state). (how, what it said);
        how is None when nothing could act."""
        arn = self.runner.execution_arn(run.name)
        command = _orderctl_repair()
        if command is None and not stalled:
            return None, "no repair for Order.CompensationFailed yet (orderctl/repair.py)"
        if command is not None:
            from orderctl.stack import DeployedStack

            stack = DeployedStack(constants.STACK_NAME, self.sandbox.outputs, self.sandbox.session)
            output = command(stack, run.name)
            how, said = "orderctl repair", str(getattr(output, "text", output))
        else:
            try:
                self.sfn.redrive_execution(executionArn=arn)
            except Exception as error:  # not redrivable (or the sandbox cannot redrive): nothing done
                return None, f"{type(error).__name__}: {error}"
            how, said = "RedriveExecution", "redriven"
        self._wait([arn])
        if not self.sandbox.drain(BATCH_TIMEOUT_SECONDS):
            raise TimeoutError("EventBridge deliveries still in flight")
        run.result = self.runner.result(arn)
        self.read_warehouse_queues()
        return how, said

    # -- figures ------------------------------------------------------------------------------------------
    def count_planned(self, runs: Iterable[OrderRun]) -> None:
        """Count the faults drawn to outlast a step's retries that did (each failed retries + 1 times)."""
        for run in runs:
            for fault in run.faults:
                budget = self.budgets.get(fault.function)
                if budget is None or not beyond_budget(fault, budget):
                    continue
                fired = sum(1 for i in self.injector.injected_for(run.name) if i.function == fault.function)
                if fired > absorbed_by(fault, budget):
                    self.tally["beyond_budget"] += 1

    def figures(self) -> dict[str, int]:
        """The new kinds of fault that fired (injected attempts), and the counts the suites kept."""
        injected = self.injector.injected
        return {
            "integration_faults": sum(
                1 for i in injected if i.function in INTEGRATION_STEPS or i.kind in DELIVERY_KINDS
            ),
            "crash_after_task": sum(
                1 for i in injected if i.kind is Kind.CRASH_AFTER and not i.function.startswith(ASYNC_PREFIX)
            ),
            "beyond_budget": self.tally["beyond_budget"],
            "permanent_subscriber": self.tally["permanent_subscriber"],
            "repaired": self.tally["repaired"],
        }


def _orderctl_repair() -> Any:
    """orderctl's `repair ORDER_ID` (orderctl/repair.py: repair(stack, order_id)), if it exists."""
    try:
        from orderctl import repair
    except ImportError:
        return None
    return getattr(repair, "repair", None)


def _deployed_pricing(sandbox: Sandbox) -> Pricing:
    variables = sandbox.environment_of(constants.TASK_FUNCTIONS["PriceOrderFunctionArn"])
    return Pricing.from_config(json.loads(variables[constants.ENV_PRICING]))
