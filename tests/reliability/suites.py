"""The reliability suites. Each takes the World, a size, and returns the violations it found.

`make reliability` (tests/reliability/run.py) runs them at full size; the pytest tests in this
folder run the same functions at a smaller size.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lambdas.marketplaces.city_store.logic import STORE_ADDRESS
from lambdas.marketplaces.registry import by_name
from lambdas.shared import constants
from lambdas.shared import payment_status as pay
from lambdas.shared.pricing import quote
from lambdas.subscribers.marketplace_intake import logic as marketplace_intake
from sandbox import scenarios
from sandbox.faults import ANY_ORDER, ASYNC_PREFIX, INTEGRATION_STEPS, Fault, Kind, RandomFaults, outlasts, summary
from sandbox.runner import TERMINAL
from tests.reliability import invariants, model
from tests.reliability.model import FAILED, SUCCEEDED, UNDELIVERABLE
from tests.reliability.world import OrderRun, World

EVERYDAY_SKUS = ("MUG-BLUE", "TEE-ORGANIC-M", "BOTTLE-STEEL-750", "NOTEBOOK-A5-DOT", "HEADPHONES-BT")
NOT_STOCKED_IN_US = "LAMP-ARC"  # examples/catalog.json: no WH-US-1 stock item, so US orders are short
COUNTRIES = ("DE", "FR", "GB", "US")
VARIANTS = ("control", "checkout-v2", None)
# How often a randomized order also gets a fault that leaves it for a person (stalled after commit,
# or a compensation step failing for good), to be repaired.
LEFT_FOR_A_PERSON = 0.3
# How often each path is drawn by the randomized fault suite.
PATH_WEIGHTS = {
    scenarios.HAPPY: 48,
    scenarios.REVIEW_APPROVED: 8,
    scenarios.REVIEW_REJECTED: 5,
    scenarios.REVIEW_TIMED_OUT: 4,
    scenarios.DECLINED: 9,
    scenarios.OUT_OF_STOCK: 6,
    UNDELIVERABLE: 4,
    scenarios.PRICE_MISMATCH: 8,
    scenarios.INVALID: 8,
    scenarios.MARKETPLACE_SHIPPED: 6,
    scenarios.STORE_HANDED_OVER: 4,
}


@dataclass
class SuiteResult:
    name: str
    orders: int = 0
    unit: str = "orders"
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)


# ---------------------------------------------------------------------------
# Orders
# ---------------------------------------------------------------------------
def random_order(world: World, path: str, prefix: str = "flt") -> dict[str, Any]:
    if path in model.CHANNEL_PATHS:
        return channel_order(world, path, prefix)
    rng = world.rng
    lines = [(sku, rng.randint(1, 3)) for sku in rng.sample(EVERYDAY_SKUS, rng.randint(1, 3))]
    country = rng.choice(COUNTRIES)
    token = "tok_visa"
    if path in (scenarios.REVIEW_APPROVED, scenarios.REVIEW_REJECTED, scenarios.REVIEW_TIMED_OUT):
        token = "tok_review_reliability"
    elif path == scenarios.DECLINED:
        token = "tok_decline_reliability"
    elif path == scenarios.OUT_OF_STOCK:
        country, lines = "US", [*lines, (NOT_STOCKED_IN_US, 1)]
    order = world.order(prefix, lines, country=country, token=token, variant=rng.choice(VARIANTS))
    if path == UNDELIVERABLE:
        order["shippingAddress"]["country"] = "JP"  # a valid country no warehouse ships to
    elif path == scenarios.PRICE_MISMATCH:
        order["displayedTotal"] = round(order["displayedTotal"] + rng.choice((-0.01, 0.01, 1.0)), 2)
    elif path == scenarios.INVALID:
        line = rng.randrange(len(order["items"]))
        order["items"][line]["quantity"] = rng.choice((0, -1, constants.MAX_LINE_QUANTITY + 1))
    return order


def channel_order(world: World, path: str, prefix: str = "flt") -> dict[str, Any]:
    """A marketplace's or a store's order as the workflow receives it: MarketplaceOrderReceived data as the
    path's connector publishes it (its own discount and shipping in the total it was paid), made into the
    execution input by the intake subscriber's own code (lambdas/subscribers/marketplace_intake/logic.py)."""
    connector = by_name(model.CHANNEL_PATHS[path])
    assert connector is not None, model.CHANNEL_PATHS[path]
    rng = world.rng
    items = [{"sku": sku, "quantity": rng.randint(1, 3)} for sku in rng.sample(EVERYDAY_SKUS, rng.randint(1, 3))]
    shipped = model.ships(path)
    address = dict(scenarios.ADDRESSES[rng.choice(COUNTRIES)] if shipped else STORE_ADDRESS)
    rules = connector.rules
    total = quote(
        items, address["country"], world.shop.catalog, world.pricing, rules.discount_basis_points, rules.shipping_cents
    )
    their_id = world.new_name(prefix)
    data = {
        "marketplace": connector.name,
        "marketplaceOrderId": their_id,
        "customer": {"id": f"{connector.name}:cust-{their_id}", "email": f"{their_id}@example.com"},
        "items": items,
        "fulfilment": constants.FULFILMENT_SHIPPED if shipped else constants.FULFILMENT_HANDED_OVER,
        "shippingAddress": address,
        "totalCents": total["totalCents"],
        "currency": world.pricing.currency,
        "paymentReference": f"PAY-{their_id}",
    }
    intake = marketplace_intake.parse({"source": connector.source, "detail": {"data": data}})
    order: dict[str, Any] = json.loads(intake.execution_input)
    return order


def planned_run(
    world: World, path: str, faults: RandomFaults, prefix: str = "flt", lasting_subscriber_faults: bool = True
) -> OrderRun:
    """An order on `path` with faults drawn for the functions it runs, and what it must end in."""
    order = random_order(world, path, prefix)
    steps = [f for f in model.functions_on(path) if world.integration_faults or f not in INTEGRATION_STEPS]
    task_faults = faults.plan({f: world.budgets[f] for f in steps})
    # Orders left for a person, on purpose: a step after the commit point, or a compensation step,
    # failing past its retries (the randomized plan alone reaches them too rarely to repair many).
    forward, business_error = model.PATHS[path]
    if prefix == "flt" and forward != (model.VALIDATE,) and world.rng.random() < LEFT_FOR_A_PERSON:
        planned = {f.function for f in task_faults}
        candidates = model.COMMITTED if business_error is None else (model.REFUND, model.RELEASE, model.PUBLISH_FAILED)
        free = [c for c in candidates if c not in planned and (world.integration_faults or c not in INTEGRATION_STEPS)]
        if free:
            step = world.rng.choice(free)
            task_faults.append(faults.lasting(step, world.budgets[step]))
    by_function = {f.function: f for f in task_faults}
    expected = model.expect(path, by_function, world.budgets)
    subscriber_faults = faults.plan(
        {s: world.budgets[s] for s in model.subscribers_for(expected.published, model.ships(path))},
        lasting_subscriber_faults,
    )
    decision = {scenarios.REVIEW_APPROVED: "approve", scenarios.REVIEW_REJECTED: "reject"}.get(path)
    return OrderRun(
        path, order, order["orderId"], [*task_faults, *subscriber_faults], decision=decision, expected=expected
    )


def describe(runs: list[OrderRun]) -> Counter[str]:
    return Counter(f"{r.result.status} {r.result.error or ''}".strip() for r in runs if r.result)


# ---------------------------------------------------------------------------
# 1. Randomized faults
# ---------------------------------------------------------------------------
def fault_suite(world: World, orders: int, batch_size: int = 30) -> SuiteResult:
    """Orders on every path, each with random faults (seeded) in the steps it runs and the subscribers
    of its event. After each batch: every subscriber fault that outlasted its retries left the event in
    that subscriber's DLQ (and nothing else is there); the fault is fixed and `orderctl redrive` applies
    it once. Then every order's invariants and the global ones; then each order left for a person
    (stalled after commit, or Order.CompensationFailed) is repaired with its faults removed and checked
    again against SAGA-SPEC's rows."""
    result = SuiteResult("faults")
    draw = RandomFaults(world.rng)
    paths, weights = zip(*PATH_WEIGHTS.items(), strict=True)
    started = world.faults_injected()
    done = 0
    while done < orders:
        size = min(batch_size, orders - done)
        runs = [planned_run(world, world.rng.choices(paths, weights)[0], draw) for _ in range(size)]
        world.run_batch(runs)
        done += size
        result.orders += size
        result.outcomes.update(describe(runs))
        problems = redrive_dead_letters(world, runs)
        problems += invariants.check(world, runs)
        problems += repair_left_for_a_person(world, runs)
        world.count_planned(runs)
        result.violations += problems
        world.say(
            f"faults: {done}/{orders} orders, {world.faults_injected() - started} faults injected, "
            f"{len(result.violations)} violations; {dict(world.tally)}"
        )
        for problem in problems[:5]:
            world.say(f"  VIOLATION {problem}")
    compensation_failed = invariants.leftovers(world, [r for r in world.orders.values() if "flt-" in r.name])
    if compensation_failed:
        held = sum(v["heldUnits"] for v in compensation_failed.values())
        charged = Counter(str(v["payment"]) for v in compensation_failed.values())
        result.notes.append(
            f"{len(compensation_failed)} orders ended in Order.CompensationFailed (alarmed): before their repair "
            f"they left {held} units held and payments {dict(charged)}"
        )
    if not world.integration_faults:
        result.notes.append("the sandbox has no integration_hook: service integrations were not faulted")
    if invariants.read_state(world).gateway is None:
        result.notes.append("the payment gateway keeps no ledger of its own: charges checked in our table only")
    result.notes.append(summary(i for i in world.injector.injected[started:]))
    return result


def dead_lettered(world: World, run: OrderRun, state: invariants.State) -> tuple[set[str], set[str]]:
    """(must, may): the subscribers whose fault (as planned) outlasts their retries for an event they
    receive, so the event must reach their DLQ; and those where it may, because it received more than
    one event of the order (a copy put again after a lost answer, or OrderCompleted and then logistics'
    ShipmentAssigned) and their attempts share a transient fault's count."""
    events = state.by_order.get(run.name, [])
    published = Counter(e["detail-type"] for e in events)
    must, may = set(), set()
    for fault in run.faults:
        receiving = [p for p in published if fault.function in model.subscribers_for(p, model.ships(run.path))]
        if not fault.function.startswith(ASYNC_PREFIX) or not receiving:
            continue
        if not outlasts(fault, world.budgets[fault.function]):
            continue
        received = sum(published[p] for p in receiving)
        (must if fault.permanent or received == 1 else may).add(fault.function)
    return must, may


# Redrive order: a subscriber whose redriven events publish events for the others (logistics ->
# ShipmentAssigned) goes first, so that what those reach is redriven after them.
PUBLISHING_SUBSCRIBERS = ("logistics",)


def redrive_dead_letters(world: World, runs: list[OrderRun]) -> list[str]:
    """Each subscriber's DLQ holds exactly the events its lasting faults failed (none lost, none
    extra); once the fault is gone, `orderctl redrive` applies them and a second redrive finds none."""
    from orderctl import events as orderctl_events
    from orderctl.stack import DeployedStack

    def expected_letters() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        state = invariants.read_state(world)
        must: dict[str, set[str]] = {}
        may: dict[str, set[str]] = {}
        for run in runs:
            certain, possible = dead_lettered(world, run, state)
            for function in certain:
                must.setdefault(function.removeprefix(ASYNC_PREFIX), set()).add(run.name)
            for function in possible:
                may.setdefault(function.removeprefix(ASYNC_PREFIX), set()).add(run.name)
        return must, may

    must, may = expected_letters()
    problems = []
    stack = DeployedStack(constants.STACK_NAME, world.sandbox.outputs, world.sandbox.session)
    subscribers = sorted(
        {s.removeprefix(ASYNC_PREFIX) for s in world.budgets if s.startswith(ASYNC_PREFIX)},
        key=lambda name: (name not in PUBLISHING_SUBSCRIBERS, name),
    )
    for subscriber in subscribers:
        queue = world.sandbox.outputs[_output(subscriber, constants.OUTPUT_SUBSCRIBER_DEAD_LETTER_QUEUE)]
        depth = _queue_depth(world, queue)
        expected, possible = must.get(subscriber, set()), may.get(subscriber, set())
        if not depth and not expected:
            continue
        for run in runs:
            if run.name in expected | possible:
                world.injector.remove(run.name, ASYNC_PREFIX + subscriber)  # the fix is deployed
        redriven = orderctl_events.redrive(stack, subscriber)
        world.sandbox.drain()
        letters = redriven.data["messages"]
        orders = {m["orderId"] for m in letters}
        if not expected <= orders <= expected | possible:
            faults = {r.name: [str(f) for f in r.faults] for r in runs if r.name in expected ^ orders}
            problems.append(
                f"{subscriber} DLQ held events of {sorted(orders)[:4]}, expected {sorted(expected)[:4]} "
                f"(missing {sorted(expected - orders)[:4]}, unexpected {sorted(orders - expected - possible)[:4]}; "
                f"faults {faults})"
            )
        failed = [m for m in letters if m["outcome"] != "redriven"]
        if failed:
            problems.append(f"{subscriber}: {len(failed)} dead letters not redriven: {failed[:2]}")
        again = orderctl_events.redrive(stack, subscriber)
        if "empty" not in again.text:
            problems.append(f"{subscriber}: a second redrive found more: {again.text[-200:]}")
        world.tally["permanent_subscriber"] += len(orders & (expected | possible))
        if subscriber in PUBLISHING_SUBSCRIBERS and orders:
            must, may = expected_letters()  # what its redriven events published reached the others
    return problems


def repair_left_for_a_person(world: World, runs: list[OrderRun]) -> list[str]:
    """Orders stalled after the commit point or ended in Order.CompensationFailed: remove their faults
    (the outage is over), repair them (`orderctl repair`, else Step Functions' RedriveExecution for a
    stalled one), and hold them to SAGA-SPEC's "Completed" / "compensation failing for good" rows."""
    problems = []
    for run in runs:
        if run.result is None:
            continue
        where = invariants.row(run)
        if where != invariants.STALLED and run.result.error != constants.ERROR_COMPENSATION_FAILED:
            continue
        for fault in run.faults:
            world.injector.remove(run.name, fault.function)
        how, said = world.repair(run, where == invariants.STALLED)
        if how is None:
            world.tally["unrepaired"] += 1
            continue
        run.repaired = how
        found = invariants.check(world, [run])
        if where == invariants.STALLED and (run.result.status, run.result.error) != (SUCCEEDED, None):
            found.append(f"{run.name}: after {how} it ended {run.result.status} {run.result.error}, not SUCCEEDED")
        again, said_again = world.repair(run, where == invariants.STALLED)
        if again is not None and said_again and "nothing" not in said_again.lower():
            found.append(f"{run.name}: a second repair did something: {said_again[:200]}")
        if not found:
            world.tally["repaired"] += 1
        problems += [f"after repair ({how}; {said[:80]}): {p}" for p in found]
    return problems


# ---------------------------------------------------------------------------
# 3. At-least-once: duplicate starts, every event handed over twice, the archive replayed
# ---------------------------------------------------------------------------
def snapshot(world: World) -> dict[str, Any]:
    """Everything a duplicate must not change: subscriber tables, e-mails, stock, payments, ledger."""
    state = invariants.read_state(world)
    return {
        "tables": {name: sorted(json.dumps(i, sort_keys=True) for i in items) for name, items in state.tables.items()},
        "emails": len(state.emails),
        "stock": state.stock,
        "holds": state.holds,
        "payments": state.payments,
        "ledger": state.ledger,
        "events": len(state.events),
        "deadLetters": state.dead_letters,
    }


def changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [key for key in before if before[key] != after[key]]


def at_least_once_suite(world: World, orders: int) -> SuiteResult:
    result = SuiteResult("at-least-once")
    sfn = world.sfn
    # (a) The same order started twice while it runs, and again after it ended: one execution.
    runs = [planned_run(world, scenarios.HAPPY, RandomFaults(world.rng, fault_probability=0.0), "dup")]
    runs += [
        planned_run(
            world,
            world.rng.choice((scenarios.HAPPY, scenarios.DECLINED)),
            RandomFaults(world.rng, beyond_budget_probability=0.0),
            "dup",
            lasting_subscriber_faults=False,  # nothing waits in a DLQ while everything is handed over again
        )
        for _ in range(orders - 1)
    ]
    arns = [world.start(run) for run in runs]
    for run, arn in zip(runs, arns, strict=True):  # a client retrying StartExecution
        try:
            if world.start(run) != arn:
                result.violations.append(f"{run.name}: a second StartExecution started another execution")
        except sfn.exceptions.ExecutionAlreadyExists:
            if world.runner.status(arn) not in TERMINAL:  # AWS: the running execution is returned
                result.violations.append(f"{run.name}: a duplicate start of a running order was refused")
    world.run_batch_started(runs, arns)
    for run in runs:
        try:
            world.start(run)
            result.violations.append(f"{run.name}: started again after it ended")
        except sfn.exceptions.ExecutionAlreadyExists:
            pass
    result.orders += len(runs)
    result.violations += invariants.check(world, runs)

    # (b) Every subscriber handed every event it ever received a second time.
    before = snapshot(world)
    handed = redeliver_everything(world)
    world.sandbox.drain()
    after = snapshot(world)
    if changed(before, after):
        result.violations.append(f"redelivering {handed} events changed {changed(before, after)}")
    result.notes.append(f"{handed} events handed to their subscribers a second time: nothing changed")

    # (c) The whole archive replayed to every rule.
    replayed = replay_archive(world)
    after_replay = snapshot(world)
    if changed(before, after_replay):
        result.violations.append(f"replaying the archive ({replayed} events) changed {changed(before, after_replay)}")
    result.notes.append(f"archive replayed ({replayed} events to every rule): nothing changed")
    result.violations += invariants.check(world, [])
    return result


def redeliver_everything(world: World) -> int:
    """Invoke each subscriber again with every distinct event it was handed (by EventBridge, a
    replay or a redrive), as a redelivery would."""
    names = {
        _key(props["Handler"]): name
        for name, props in (world.sandbox.deployment.functions().items() if world.sandbox.deployment else [])
    }
    seen: dict[tuple[str, str], Any] = {}
    for call in list(world.injector.calls):
        if call.event is not None and isinstance(call.event, dict):
            seen.setdefault((call.function, str(call.event.get("id"))), call.event)
    lambda_ = world.sandbox.client("lambda")
    for (function, _), event in seen.items():
        lambda_.invoke(FunctionName=names[function], InvocationType="Event", Payload=json.dumps(event).encode())
    return len(seen)


def _key(handler: str) -> str:
    from sandbox.faults import function_key

    return function_key(handler)


def replay_archive(world: World) -> int:
    """StartReplay of everything archived, to every rule on the order bus (as after a bad deploy)."""
    events = world.sandbox.client("events")
    outputs = world.sandbox.outputs
    name = world.new_name("replay")
    archived = len(invariants.archived_events(world))
    events.start_replay(
        ReplayName=name,
        EventSourceArn=outputs[constants.OUTPUT_EVENT_ARCHIVE_ARN],
        EventStartTime=0,
        EventEndTime=world.sandbox.clock.now() + 60,  # the events are stamped on the sandbox clock
        Destination={"Arn": outputs[constants.OUTPUT_EVENT_BUS_ARN]},
    )
    deadline = time.monotonic() + 120
    while events.describe_replay(ReplayName=name)["State"] not in ("COMPLETED", "FAILED", "CANCELLED"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"replay {name} did not finish")
        time.sleep(0.1)
    world.sandbox.drain()
    return archived


# ---------------------------------------------------------------------------
# 4. Load: orders racing for scarce stock
# ---------------------------------------------------------------------------
def load_suite(world: World, racers: int, faults: bool = True) -> SuiteResult:
    """Many orders at once for a few scarce SKUs (some with transient faults in reserve and
    payment): never oversold, every loser really short, every unit sold to exactly one winner."""
    result = SuiteResult("load")
    round_ = world.new_name("race").rsplit("-", 1)[-1]
    stock = {
        f"RACE{round_}-LAMP": {"WH-EU-1": 5, "WH-UK-1": 3},
        f"RACE{round_}-CHAIR": {"WH-EU-1": 8, "WH-US-1": 4},
        f"RACE{round_}-RUG": {"WH-EU-1": 4, "WH-UK-1": 2, "WH-US-1": 3},
    }
    world.add_products(
        # Sharded (docs/HOT-PRODUCT.md), so the racers also race over shards and fall over between them.
        {
            "sku": sku,
            "name": f"Scarce {sku}",
            "priceCents": 4900,
            "leadTimeDays": 30,
            "active": True,
            "stockShards": 3,
            "stock": levels,
        }
        for sku, levels in stock.items()
    )
    units = sum(sum(levels.values()) for levels in stock.values())
    draw = RandomFaults(
        world.rng,
        fault_probability=0.2 if faults else 0.0,
        permanent_probability=0.0,
        beyond_budget_probability=0.0,
        task_crashes=False,
    )
    runs = []
    for _ in range(racers):
        skus = world.rng.sample(sorted(stock), world.rng.randint(1, 2))
        order = world.order(
            "race", [(sku, world.rng.randint(1, 3)) for sku in skus], country=world.rng.choice(COUNTRIES)
        )
        planned = draw.plan({f: world.budgets[f] for f in (model.RESERVE, model.COLLECT, model.RELEASE)})
        runs.append(
            OrderRun(
                "race",
                order,
                order["orderId"],
                planned,
                allowed=frozenset({(SUCCEEDED, None), (FAILED, constants.ERROR_OUT_OF_STOCK)}),
            )
        )
    world.run_batch(runs)
    result.orders = len(runs)
    result.outcomes.update(describe(runs))
    result.violations += invariants.check(world, runs)
    state = invariants.read_state(world)
    sold = {key: level["sold"] for key, level in state.stock.items() if key[0] in stock}
    won = [r for r in runs if r.result and r.result.status == SUCCEEDED]
    for (sku, warehouse), seeded in ((k, v) for k, v in world.initial_stock.items() if k[0] in stock):
        if sold.get((sku, warehouse), 0) > seeded or state.stock[(sku, warehouse)]["available"] < 0:
            result.violations.append(f"oversold {sku} at {warehouse}: sold {sold[(sku, warehouse)]} of {seeded}")
    serving = {w["id"]: set(w["countries"]) for w in world.warehouses}
    for run in runs:
        if run.result and run.result.status == FAILED:
            country = run.order["shippingAddress"]["country"]
            short_everywhere = all(
                any(q > state.stock.get((sku, wh), {}).get("available", 0) for sku, q in run.lines.items())
                for wh, countries in serving.items()
                if country in countries
            )
            if not short_everywhere:
                result.violations.append(f"{run.name} lost although its warehouse could still serve it: {run.lines}")
    units_sold = sum(sold.values())
    result.notes.append(
        f"{len(runs)} orders raced for {units} units of {len(stock)} SKUs: {len(won)} won ({units_sold} units sold), "
        f"{len(runs) - len(won)} out of stock, {sum(1 for r in runs if r.faults)} with faults; oversold: 0"
        if not any("oversold" in v for v in result.violations)
        else "OVERSOLD"
    )
    return result


# ---------------------------------------------------------------------------
# 5. A failing subscriber: its events wait in its DLQ, the others carry on, a redrive restores it
# ---------------------------------------------------------------------------
def subscriber_failure_suite(world: World, orders: int, subscriber: str = "analytics") -> SuiteResult:
    from orderctl import events as orderctl_events
    from orderctl.stack import DeployedStack

    result = SuiteResult("subscriber failure")
    function = f"subscribers.{subscriber}"
    queue = world.sandbox.outputs[_output(subscriber, constants.OUTPUT_SUBSCRIBER_DEAD_LETTER_QUEUE)]
    # Broken for every order: the first half before doing anything, the second after its effect
    # (then every retry and the redrive must see it was done).
    world.injector.add(ANY_ORDER, Fault(function, Kind.CRASH))
    first = [planned_run(world, scenarios.HAPPY, RandomFaults(world.rng, 0.0), "sub") for _ in range(orders // 2)]
    world.run_batch(first)
    world.injector.add(ANY_ORDER, Fault(function, Kind.CRASH_AFTER))
    second = [
        planned_run(world, scenarios.HAPPY, RandomFaults(world.rng, 0.0), "sub") for _ in range(orders - len(first))
    ]
    world.run_batch(second)
    runs = first + second
    result.orders = len(runs)
    depth = _queue_depth(world, queue)
    if depth != len(runs):
        result.violations.append(f"{depth} events in the {subscriber} DLQ for {len(runs)} orders (lost or doubled)")
    # Every other subscriber: exactly its effects, as if nothing were wrong.
    state = invariants.read_state(world)
    for run in runs:
        others = [p for p in invariants.check_order(world, run, state) if "Analytics" not in p]
        result.violations += [f"{run.name} (while {subscriber} is broken): {p}" for p in others]
    world.injector.remove(ANY_ORDER, function)  # the fix is deployed
    stack = DeployedStack(constants.STACK_NAME, world.sandbox.outputs, world.sandbox.session)
    redriven = orderctl_events.redrive(stack, subscriber)
    world.sandbox.drain()
    again = orderctl_events.redrive(stack, subscriber)
    if not redriven.ok or "empty" not in again.text:
        result.violations.append(f"redrive: {redriven.text[-300:]} / then: {again.text[-200:]}")
    result.violations += invariants.check(world, runs)
    result.notes.append(
        f"{subscriber} broken for {len(runs)} orders: {depth} events in its DLQ, other subscribers unaffected; "
        f"redrive restored it ({sum(m['outcome'] == 'redriven' for m in redriven.data['messages'])} redriven)"
    )
    return result


def _output(subscriber: str, suffix: str) -> str:
    camel = "".join(part.capitalize() for part in subscriber.split("_"))
    return camel + constants.OUTPUT_SUBSCRIBER_INFIX + suffix


def _queue_depth(world: World, url: str) -> int:
    attributes = world.sandbox.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


# ---------------------------------------------------------------------------
# 6. Callback safety
# ---------------------------------------------------------------------------
def callback_suite(world: World) -> SuiteResult:
    result = SuiteResult("callbacks")
    runs: list[OrderRun] = []

    def review_order(path: str) -> OrderRun:
        order = world.order("cb", [("MUG-BLUE", 1)], token="tok_review_callbacks")
        run = OrderRun(path, order, order["orderId"], expected=model.expect(path, {}, world.budgets))
        runs.append(run)
        return run

    def refused(order_id: str, decision: str, says: str, check: Callable[[], Any]) -> None:
        before = check()
        response, error = world.decide(order_id, decision)
        message = str(response.get("errorMessage", ""))
        if not error or says not in message:
            result.violations.append(f"{decision} for {order_id}: wanted an error saying {says!r}, got {response}")
        if check() != before:
            result.violations.append(f"a refused {decision} for {order_id} changed something")
        result.notes.append(f"{decision} refused: {message[:110]}")

    def payment_of(run: OrderRun) -> Callable[[], Any]:
        return lambda: (
            invariants.read_state(world).payments.get(run.name),
            world.runner.status(world.runner.execution_arn(run.name)),
        )

    # A review that never comes: the timeout passes, the order is compensated.
    timed_out = review_order(scenarios.REVIEW_TIMED_OUT)
    # Decided, then decided again; rejected, then decided again.
    approved = review_order(scenarios.REVIEW_APPROVED)
    approved.decision = "approve"
    rejected = review_order(scenarios.REVIEW_REJECTED)
    rejected.decision = "reject"
    world.run_batch([timed_out, approved, rejected])
    refused(approved.name, "reject", "already approved", payment_of(approved))
    refused(approved.name, "approve", "already approved", payment_of(approved))
    refused(rejected.name, "approve", "not waiting", payment_of(rejected))
    refused(timed_out.name, "approve", "not waiting", payment_of(timed_out))
    refused(
        world.new_name("unknown"), "approve", "No payment found", lambda: len(invariants.read_state(world).payments)
    )

    # A stale token: the review timed out and compensation is starting (held at RefundPayment while
    # the payment still shows the old token): the decision must be refused and change nothing.
    stale = review_order(scenarios.REVIEW_TIMED_OUT)
    gate = world.injector.hold(stale.name, model.REFUND)
    arn = world.start(stale)
    world._waiting_or_ended(arn)
    world.sandbox.clock.advance(world.review_timeout_seconds + 1)
    if not gate.reached.wait(120):
        result.violations.append("the timed-out review never reached its compensation")
    payment = invariants.read_state(world).payments.get(stale.name) or {}
    if payment.get("status") != pay.REVIEW_PENDING or not payment.get("taskToken"):
        result.violations.append(f"the stale-token window did not open: payment {payment.get('status')}")
    refused(stale.name, "approve", "no longer waiting", payment_of(stale))
    gate.release()
    world.run_batch_started([stale], [arn])

    # Not parked yet: the review was requested but its token is not stored.
    early = review_order(scenarios.REVIEW_APPROVED)
    early.decision = None
    gate = world.injector.hold(early.name, model.REVIEW)
    arn = world.start(early)
    if not gate.reached.wait(120):
        result.violations.append("the review request never started")
    refused(early.name, "approve", "not parked", payment_of(early))
    gate.release()
    world._waiting_or_ended(arn)
    response, error = world.decide(early.name, "approve")
    if error:
        result.violations.append(f"a decision once parked was refused: {response}")
    world.run_batch_started([early], [arn])

    # Two reviewers at once: exactly one decision takes effect.
    twice = review_order(scenarios.REVIEW_APPROVED)
    arn = world.start(twice)
    world._waiting_or_ended(arn)
    answers = _concurrently([lambda: world.decide(twice.name, "approve"), lambda: world.decide(twice.name, "reject")])
    accepted = [i for i, (_, error) in enumerate(answers) if not error]
    if len(accepted) != 1:
        result.violations.append(f"two reviewers at once: {len(accepted)} decisions accepted ({answers})")
    else:
        twice.path = scenarios.REVIEW_APPROVED if accepted == [0] else scenarios.REVIEW_REJECTED
        twice.expected = model.expect(twice.path, {}, world.budgets)
    world.run_batch_started([twice], [arn])

    result.orders = len(runs)
    result.outcomes.update(describe(runs))
    result.violations += invariants.check(world, runs)
    return result


def _concurrently(calls: list[Callable[[], Any]]) -> list[Any]:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))
