"""The invariants, read from the real state of the sandbox (tables, the bus's archive, SES, queues).

``check(world, runs)`` returns every violation as a sentence (empty: all hold). Per order (each run
of the batch):

- it ended in exactly one terminal outcome, the one the spec expects for its path and its faults
  (never States.Runtime, never still running);
- its stock holds: all SOLD if it succeeded, none HELD if it failed;
- its payment: charged (APPROVED / REVIEW_APPROVED) if and only if it succeeded; a failed order's
  payment is REFUNDED, VOIDED, DECLINED or absent; the ledger books a sale iff it succeeded, and a
  failed order's sale (if booked) is reversed;
- the warehouse: one ShipOrder iff it succeeded; a failed order that was shipped was cancelled;
- the bus: OrderCompleted exactly once iff it succeeded, OrderFailed exactly once iff it failed after
  validation (with the execution's error), neither for a failed validation or a failed compensation;
- each subscriber's per-order effect: inventory sold it, analytics counted it, one confirmation
  e-mail, logistics booked its shipment and published ShipmentAssigned, one tracking e-mail naming that
  carrier and tracking number, failure_stats counted its failure: each exactly once, and only for the
  right outcome (a handed-over store sale ships nothing).

Globally (the whole world so far):

- stock conserved: available + held + sold = what was seeded, per SKU and warehouse, never negative;
  held and sold equal the HELD and SOLD holds;
- no trace of an order the world does not know (bad input leaves nothing anywhere);
- the subscribers' counters equal the sums over the orders: analytics per variant and SKU,
  inventory's sales per SKU and warehouse, failure_stats per error; one reorder suggestion event per
  suggestion; the audit chain verifies and holds every archived event exactly once;
- dead-letter queues are empty (unless a suite is mid-way through breaking a subscriber).

An order that ends in Order.CompensationFailed is a detected, alarmed outcome, not a violation: what it
leaves behind (held stock, an unrefunded charge) is reported by ``leftovers``.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key

from lambdas.shared import constants
from lambdas.shared import payment_status as pay
from lambdas.shared.adapters import inventory
from lambdas.shared.adapters.dynamo import all_items
from lambdas.shared.adapters.payments import GatewayLedger
from lambdas.subscribers.audit.logic import event_key
from sandbox import observe
from sandbox.account import ACCOUNT_ID
from sandbox.faults import INTEGRATION_STEPS, Kind
from tests.reliability import model
from tests.reliability.model import FAILED, SUCCEEDED
from tests.reliability.world import OrderRun, World

CHARGED = {pay.APPROVED, pay.REVIEW_APPROVED}
NOT_CHARGED = {pay.REFUNDED, pay.VOIDED, pay.DECLINED}
SUBSCRIBERS = ("Inventory", "Analytics", "Audit", "Notifications", "FailureStats", "Logistics")
# The events about an order that name its channel (issue 15: the channel travels on every event).
CHANNEL_EVENTS = (
    constants.EVENT_ORDER_COMPLETED,
    constants.EVENT_ORDER_FAILED,
    constants.EVENT_PAYMENT_REVIEW_REQUESTED,
    constants.EVENT_SHIPMENT_ASSIGNED,
)


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@dataclass
class State:
    """Everything the invariants read, in one pass."""

    stock: dict[tuple[str, str], dict[str, int]]
    holds: dict[str, list[dict[str, Any]]]
    payments: dict[str, dict[str, Any]]
    ledger: dict[str, dict[str, dict[str, Any]]]
    events: list[dict[str, Any]]  # the archive: every event put on the bus from our source, once
    tables: dict[str, list[dict[str, Any]]]  # subscriber name -> its items
    emails: list[observe.Email]
    dead_letters: dict[str, int]
    audit: Any
    gateway: dict[str, Any]  # the payment gateway's own record (OrderGatewayRecords) per order
    by_order: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for event in self.events:
            correlation = event["detail"].get("metadata", {}).get("correlationId")
            self.by_order.setdefault(str(correlation), []).append(event)

    def published(self, order_id: str, detail_type: str) -> list[dict[str, Any]]:
        return [e for e in self.by_order.get(order_id, []) if e["detail-type"] == detail_type]

    def item(self, subscriber: str, pk: str, sk: str) -> dict[str, Any] | None:
        return next((i for i in self.tables[subscriber] if i["pk"] == pk and i["sk"] == sk), None)


def read_state(world: World) -> State:
    sandbox = world.sandbox
    dynamodb = sandbox.resource("dynamodb")
    outputs = sandbox.outputs

    def scan(table_name: str) -> list[dict[str, Any]]:
        return [plain(i) for i in all_items(dynamodb.Table(table_name).scan)]

    holds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    inventory_items = scan(outputs[constants.OUTPUT_INVENTORY_TABLE])
    # A SKU-warehouse's stock is the sum of its shards (docs/HOT-PRODUCT.md).
    stock = inventory.stock_totals(inventory_items)
    for item in inventory_items:
        if item["pk"].startswith("ORDER#") and item["sk"].startswith("HOLD#"):
            holds[item["pk"].removeprefix("ORDER#")].append({**item, "sku": item["sk"].removeprefix("HOLD#")})
    ledger: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for item in scan(outputs[constants.OUTPUT_LEDGER_TABLE]):
        ledger[item["pk"].removeprefix("ORDER#")][item["sk"]] = item
    return State(
        stock=stock,
        holds=dict(holds),
        payments={i["orderId"]: i for i in scan(outputs[constants.OUTPUT_PAYMENTS_TABLE])},
        ledger=dict(ledger),
        events=archived_events(world),
        tables={name: scan(observe.subscriber_table(sandbox, name)) for name in SUBSCRIBERS},
        emails=observe.emails(sandbox),
        dead_letters=observe.dead_letters(sandbox),
        audit=observe.audit_verification(sandbox),
        gateway=gateway_record(world),
    )


def gateway_record(world: World) -> dict[str, Any]:
    """{order id: OrderGatewayRecords} from the payment gateway's own ledger (not our payments table)."""
    from lambdas.shared import payment_gateway

    table = world.sandbox.outputs[constants.OUTPUT_GATEWAY_LEDGER_TABLE]
    ledger = GatewayLedger(world.sandbox.resource("dynamodb").Table(table))
    with world.sandbox.client_environment():
        return dict(payment_gateway.gateway_records(None, ledger))


def archived_events(world: World) -> list[dict[str, Any]]:
    """What was put on the bus from our sources: the bus's archive (replays are not archived again)."""
    from moto.events.models import events_backends

    name = world.sandbox.outputs[constants.OUTPUT_EVENT_ARCHIVE_ARN].rsplit("/", 1)[-1]
    archive = events_backends[ACCOUNT_ID][world.sandbox.region].archives[name]
    return [dict(e, detail=_detail(e)) for e in list(archive.events)]


def _detail(event: dict[str, Any]) -> dict[str, Any]:
    detail = event.get("detail")
    return json.loads(detail) if isinstance(detail, str) else dict(detail or {})


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------
def check(world: World, runs: Iterable[OrderRun], dead_letters_expected: bool = False) -> list[str]:
    state = read_state(world)
    problems: list[str] = []
    for run in runs:
        problems += [f"{run.name}: {p}" for p in check_order(world, run, state)]
    problems += check_global(world, state, dead_letters_expected)
    return problems


def outcome(run: OrderRun) -> tuple[str, str | None]:
    assert run.result is not None
    return run.result.status, run.result.error


# How an order ended, in SAGA-SPEC's rows.
COMPLETED, STALLED, COMPENSATED, REJECTED = "completed", "stalled after commit", "compensated", "rejected"
POST_COMMIT_STATES = (INTEGRATION_STEPS["PublishOrderCompleted"].state, "RecordAccounting")
COMPENSATION_STATES = ("CancelShipment", "RefundPayment", "ReleaseStock", "PublishOrderFailed")
# The compensation steps (model keys) and what each owns.
LEFT_RELEASE, LEFT_REFUND = model.RELEASE, model.REFUND
LEFT_CANCEL, LEFT_PUBLISH = "CancelShipment", "PublishOrderFailed"


def row(run: OrderRun) -> str:
    """Which row of SAGA-SPEC's table the order ended in (read from its execution)."""
    assert run.result is not None
    if run.result.status == SUCCEEDED:
        return COMPLETED
    states = run.result.states
    if not run.result.entered("ReserveStock"):
        return REJECTED
    if states and states[-1] in POST_COMMIT_STATES and not any(s in states for s in COMPENSATION_STATES):
        return STALLED
    return COMPENSATED


def left_undone(run: OrderRun) -> set[str]:
    """The compensation steps the plan made fail for good (what a person must finish), until repaired."""
    if run.repaired or run.expected is None:
        return set()
    return set(getattr(run.expected, "left", ()) or ())


def check_order(world: World, run: OrderRun, state: State) -> list[str]:
    if run.result is None:
        return ["never ran"]
    problems = []
    status, error = outcome(run)
    faults = ", ".join(str(f) for f in run.faults) or "no faults"
    if status not in (SUCCEEDED, FAILED):
        problems.append(f"ended {status}, not in one of the two terminal outcomes")
    if error is not None and error.startswith("States.") and row(run) != STALLED:
        problems.append(f"{error}: {run.result.cause}")  # a Fail state may not report States.*
    if run.expected is not None and not run.repaired and (status, error) != (run.expected.status, run.expected.error):
        problems.append(
            f"ended {status} {error or ''} ({run.result.reason[:160]}), expected {run.expected.status} "
            f"{run.expected.error or ''} ({run.path}; {faults}; states {' > '.join(run.result.states)})"
        )
    if run.allowed and (status, error) not in run.allowed:
        problems.append(f"ended {status} {error}, allowed only {sorted(run.allowed, key=str)}")
    where = row(run)
    stalled_at = getattr(run.expected, "stalled_at", None) if run.expected is not None else None
    if run.expected is not None and not run.repaired and (where == STALLED) != (stalled_at is not None):
        problems.append(
            f"ended {where} (states {' > '.join(run.result.states[-3:])}), expected stalled at {stalled_at}"
        )
    stalled_state = model.STEPS[stalled_at].state if stalled_at in model.STEPS else stalled_at
    if where == STALLED and stalled_state is not None and run.result.states[-1] != stalled_state:
        problems.append(f"stopped at {run.result.states[-1]}, expected at {stalled_state}")
    left = left_undone(run)
    problems += _holds(run, state, where, left)
    problems += _payment(run, state, where, left)
    problems += _gateway(run, state, where, left)
    problems += _shipping(world, run, where, left)
    problems += _events(world, run, state, where, left)
    problems += _subscriber_effects(run, state)
    return problems


def _holds(run: OrderRun, state: State, where: str, left: set[str]) -> list[str]:
    holds = state.holds.get(run.name, [])
    statuses = Counter(h["status"] for h in holds)
    completed_published = bool(state.published(run.name, constants.EVENT_ORDER_COMPLETED))
    if where == COMPLETED:
        held = {h["sku"]: h["quantity"] for h in holds}
        if held != run.lines or set(statuses) != {"SOLD"}:
            return [f"succeeded but its holds are {dict(statuses)} of {held}, ordered {run.lines}"]
        if len({h["warehouseId"] for h in holds}) != 1:
            return ["holds in more than one warehouse"]
        return []
    if where == STALLED:
        held = {h["sku"]: h["quantity"] for h in holds}
        allowed = {"HELD", "SOLD"} if completed_published else {"HELD"}
        if held != run.lines or not set(statuses) <= allowed:
            return [f"stalled after commit but its holds are {dict(statuses)} of {held} (want {sorted(allowed)})"]
        return []
    problems = []
    if statuses.get("SOLD"):
        problems.append(f"failed but {statuses['SOLD']} line(s) of its stock are SOLD")
    if statuses.get("HELD") and LEFT_RELEASE not in left:
        problems.append(f"failed but still holds {statuses['HELD']} line(s) of stock (a leaked hold)")
    return problems


def _payment(run: OrderRun, state: State, where: str, left: set[str]) -> list[str]:
    payment = state.payments.get(run.name)
    ledger = state.ledger.get(run.name, {})
    problems = []
    prepaid = prepaid_channel_order(run)
    if where in (COMPLETED, STALLED):
        if payment is None or payment["status"] not in ({pay.PREPAID} if prepaid else CHARGED):
            problems.append(f"{where} but its payment is {payment and payment['status']}")
        if "TXN#REFUND" in ledger or (where == COMPLETED and "TXN#SALE" not in ledger):
            problems.append(f"{where} but its ledger holds {sorted(ledger)}")
        return problems
    if prepaid:  # recorded PREPAID (or not yet recorded), and never refunded or voided: we charged nothing
        if payment is not None and payment["status"] != pay.PREPAID:
            problems.append(f"a channel order failed and its payment is {payment['status']}, not PREPAID")
    elif payment is not None and payment["status"] not in NOT_CHARGED and LEFT_REFUND not in left:
        problems.append(f"failed but its payment is {payment['status']} (charged, never refunded)")
    if ledger:
        problems.append(f"failed but its ledger holds {sorted(ledger)} (nothing is booked before the commit)")
    return problems


def _gateway(run: OrderRun, state: State, where: str, left: set[str]) -> list[str]:
    """The gateway's own record (each operation recorded at most once per order by its conditional
    writes): a completed or stalled sale captured and never given back; a failed order's capture given
    back by exactly one refund or void."""
    record = state.gateway.get(run.name)
    if prepaid_channel_order(run):  # paid at the marketplace or the store: the gateway never hears of it
        return [] if record is None else [f"a channel order (paid at {run.order['channel']}) reached the gateway"]
    captured = bool(record and record.captured)
    refunded = bool(record and record.refund is not None)
    voided = bool(record and record.void is not None and record.void.get("released"))
    seen = f"the gateway shows captured={captured} refunded={refunded} voided={voided}"
    if where in (COMPLETED, STALLED):
        if not captured or refunded or voided:
            return [f"{where} but {seen} (want one capture, nothing given back)"]
        return []
    if captured and refunded and voided:
        return [f"failed and {seen}: given back twice"]
    if captured and not (refunded or voided) and LEFT_REFUND not in left:
        return [f"failed but {seen}: a capture never refunded or voided"]
    return []


def _shipping(world: World, run: OrderRun, where: str, left: set[str]) -> list[str]:
    kinds = Counter(m["type"] for m in world.warehouse_messages if m.get("orderId") == run.name)
    ship, cancel = kinds.get("ShipOrder", 0), kinds.get("CancelShipment", 0)
    if not model.ships(run.path):  # handed over in the store: the warehouse hears nothing, whatever happens
        return (
            [] if (ship, cancel) == (0, 0) else [f"a sale handed over with {ship} ShipOrder, {cancel} CancelShipment"]
        )
    if where in (COMPLETED, STALLED) and (ship, cancel) != (1, 0):
        return [f"{where} with {ship} ShipOrder and {cancel} CancelShipment messages (want 1 and 0)"]
    # Failed: never told, or told once and cancelled once (a cancel for a warehouse never told is harmless).
    shipped_not_cancelled = ship and not cancel and LEFT_CANCEL not in left
    if where not in (COMPLETED, STALLED) and (ship > 1 or cancel > 1 or shipped_not_cancelled):
        return [f"failed with {ship} ShipOrder and {cancel} CancelShipment messages (shipped, not cancelled)"]
    return []


def _events(world: World, run: OrderRun, state: State, where: str, left: set[str]) -> list[str]:
    """The workflow's events for the order in the bus's archive: the expected one, once. A copy of the
    same event is allowed only where AWS makes one unavoidable: the publish step's call happened but its
    answer was lost (it was retried), or a redrive re-ran it."""
    assert run.result is not None
    completed = state.published(run.name, constants.EVENT_ORDER_COMPLETED)
    failed = state.published(run.name, constants.EVENT_ORDER_FAILED)
    problems = []
    want: dict[str, tuple[int, int]] = {  # detail-type -> (at least, at most) distinct events
        constants.EVENT_ORDER_COMPLETED: {COMPLETED: (1, 1), STALLED: (0, 1)}.get(where, (0, 0)),
        constants.EVENT_ORDER_FAILED: (0, 0) if where in (COMPLETED, STALLED, REJECTED) else (1, 1),
    }
    # PublishOrderFailed failing for good: none, unless its call happened and only the answer was lost.
    maybe_put = _committed_fault(run, LEFT_PUBLISH)
    if where == COMPENSATED and LEFT_PUBLISH in left:
        want[constants.EVENT_ORDER_FAILED] = (0, 1 if maybe_put else 0)
    for detail_type, events in ((constants.EVENT_ORDER_COMPLETED, completed), (constants.EVENT_ORDER_FAILED, failed)):
        low, high = want[detail_type]
        distinct = {json.dumps(e["detail"].get("data"), sort_keys=True) for e in events}
        if not low <= len(distinct) <= high:
            problems.append(f"{len(distinct)} distinct {detail_type} events on the bus (want {low}..{high}, {where})")
        copies = len(events) - len(distinct)
        step = "PublishOrderCompleted" if detail_type == constants.EVENT_ORDER_COMPLETED else "PublishOrderFailed"
        allowed = _repeated_calls(world, run, step)
        if copies > allowed:
            problems.append(f"{detail_type} put on the bus {len(events)} times ({allowed} repeat(s) explained)")
    published = {
        t
        for t, events in ((constants.EVENT_ORDER_COMPLETED, completed), (constants.EVENT_ORDER_FAILED, failed))
        if events
    }
    if run.expected is not None and not run.repaired and where != STALLED:
        expected = {run.expected.published} - {None}
        if maybe_put and LEFT_PUBLISH in left:
            expected |= published & {constants.EVENT_ORDER_FAILED}
        if published != expected:
            problems.append(f"the bus holds {sorted(published)} for it, expected {sorted(expected)}")
    if failed and where == COMPENSATED:
        data = failed[0]["detail"]["data"]
        original = _original_error(run)
        if original is not None and data.get("error") != original:
            problems.append(f"OrderFailed says {data.get('error')}, the execution failed with {original}")
        compensation = data.get("compensation") or {}
        for step in left - {LEFT_PUBLISH}:
            camel = _camel(step)
            if not isinstance(compensation.get(camel), dict) or "Error" not in compensation[camel]:
                problems.append(f"OrderFailed does not name {camel} as left undone: {compensation}")
    # logistics' reaction: one ShipmentAssigned per shipped OrderCompleted on the bus, never otherwise; a
    # copy (OrderCompleted handed to logistics again before it recorded its publish) is the same event
    shipments = state.published(run.name, constants.EVENT_SHIPMENT_ASSIGNED)
    distinct = {json.dumps(e["detail"].get("data"), sort_keys=True) for e in shipments}
    wanted = 1 if completed and ships(state, run.name) else 0
    if len(distinct) != wanted:
        problems.append(
            f"{len(distinct)} distinct {constants.EVENT_SHIPMENT_ASSIGNED} events on the bus (want {wanted}; "
            f"they differ in {_differing([json.loads(d) for d in distinct])})"
        )
    if where != REJECTED and not run.result.entered("ValidateOrder"):
        problems.append("never validated")
    return problems + _channels(run, state)


def _channels(run: OrderRun, state: State) -> list[str]:
    """The order's channel travels on every event the shop publishes about it (web unless the order names one)."""
    channel = run.order.get("channel") or constants.CHANNEL_WEB
    found = Counter(
        (event["detail-type"], event["detail"]["data"].get("channel"))
        for event in state.by_order.get(run.name, [])
        if event["source"] == constants.EVENT_SOURCE and event["detail-type"] in CHANNEL_EVENTS
    )
    return [
        f"{n} {detail_type} event(s) with channel {seen!r}, not {channel!r}"
        for (detail_type, seen), n in found.items()
        if seen != channel
    ]


def _differing(datas: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The fields in which events' data differ, with each event's value."""
    keys = sorted({k for d in datas for k in d})
    return {k: [d.get(k) for d in datas] for k in keys if len({json.dumps(d.get(k)) for d in datas}) > 1}


def _original_error(run: OrderRun) -> str | None:
    """The named error an order failed with (for CompensationFailed: the one it failed with first)."""
    assert run.result is not None
    if run.result.error != constants.ERROR_COMPENSATION_FAILED:
        return run.result.error
    return None  # the execution's cause names it; OrderFailed's data is checked against the plan instead


def _camel(step: str) -> str:
    """ "refund_payment" / "RefundPayment" -> "refundPayment" ($.compensation's keys)."""
    words = step.split("_") if "_" in step else [step]
    joined = "".join(w[:1].upper() + w[1:] for w in words)
    return joined[:1].lower() + joined[1:]


def _repeated_calls(world: World, run: OrderRun, step: str) -> int:
    """How many extra calls of a publish step a lost answer (or a redrive) explains."""
    committed = sum(1 for i in world.injector.injected_for(run.name) if i.function == step and _committed(i.kind))
    return committed + (1 if run.repaired else 0)


def _committed_fault(run: OrderRun, step: str) -> bool:
    """Was a fault planned for `step` one that lets its call happen (the answer lost)?"""
    return any(f.function == step and f.committed for f in run.faults)


def _committed(kind: Kind) -> bool:
    return kind in (Kind.INTEGRATION_LOST_REPLY, Kind.INTEGRATION_ERROR_AFTER)


def _subscriber_effects(run: OrderRun, state: State) -> list[str]:
    """Each subscriber's effect exactly once iff the event that causes it is on the bus."""
    assert run.result is not None
    pk = f"ORDER#{run.name}"
    problems = []
    completed = bool(state.published(run.name, constants.EVENT_ORDER_COMPLETED))
    emails = [m for m in state.emails if m.subject == f"Your order {run.name} is confirmed"]
    if len(emails) != (1 if completed else 0):
        problems.append(f"{len(emails)} confirmation e-mails (OrderCompleted published: {completed})")
    shipped = completed and ships(state, run.name)
    shipments = state.published(run.name, constants.EVENT_SHIPMENT_ASSIGNED)
    tracking = [m for m in state.emails if m.subject.startswith(f"Your order {run.name} ships with ")]
    if len(tracking) != (1 if shipments else 0):
        problems.append(f"{len(tracking)} tracking e-mails (ShipmentAssigned published: {bool(shipments)})")
    elif shipments:
        data = shipments[0]["detail"]["data"]
        want = f"Your order {run.name} ships with {data['carrier']}: {data['trackingNumber']}"
        if tracking[0].subject != want:
            problems.append(f"tracking e-mail {tracking[0].subject!r}, ShipmentAssigned says {want!r}")
    expected = {
        ("Analytics", "COUNTED"): completed,
        ("Inventory", "SALES"): completed,
        ("Notifications", "CONFIRMATION"): completed,
        ("Logistics", "SHIPMENT"): shipped,
        ("Notifications", "TRACKING"): bool(shipments),
        ("FailureStats", "FAILED"): bool(state.published(run.name, constants.EVENT_ORDER_FAILED)),
    }
    for (subscriber, sk), wanted in expected.items():
        item = state.item(subscriber, pk, sk)
        if (item is not None) != wanted:
            problems.append(f"{subscriber} marker {sk}: {'missing' if wanted else 'present'}")
    inventory = state.item("Inventory", pk, "SALES")
    if completed and inventory and inventory.get("status") != "DONE":
        problems.append(f"inventory subscriber left the order {inventory.get('status')}, not DONE")
    confirmation = state.item("Notifications", pk, "CONFIRMATION")
    if completed and confirmation and confirmation.get("status") != "SENT":
        problems.append(f"confirmation {confirmation.get('status')}, not SENT")
    shipment = state.item("Logistics", pk, "SHIPMENT")
    if shipped and shipment and shipment.get("status") != "PUBLISHED":
        problems.append(f"logistics left the shipment {shipment.get('status')}, not PUBLISHED")
    notice = state.item("Notifications", pk, "TRACKING")
    if shipments and notice and notice.get("status") != "SENT":
        problems.append(f"tracking e-mail {notice.get('status')}, not SENT")
    return problems


def prepaid_channel_order(run: OrderRun) -> bool:
    """Was the order paid to a marketplace or a store (we charge nothing, and refund nothing)?"""
    payment = run.order.get("payment") if isinstance(run.order, dict) else None
    return isinstance(payment, dict) and payment.get("method") == constants.PAYMENT_METHOD_PREPAID


def ships(state: State, order_id: str) -> bool:
    """Does the order's OrderCompleted send a parcel (logistics' rule: all but a handed-over store sale)?"""
    return any(
        e["detail"]["data"].get("fulfilment") != constants.FULFILMENT_HANDED_OVER
        for e in state.published(order_id, constants.EVENT_ORDER_COMPLETED)
    )


def check_global(world: World, state: State, dead_letters_expected: bool = False) -> list[str]:
    problems = _stock(world, state)
    known = set(world.orders)
    for what, ids in (("holds", state.holds), ("payments", state.payments), ("ledger", state.ledger)):
        strangers = sorted(set(ids) - known)
        if strangers:
            problems.append(f"{what} for orders nobody placed (or bad input): {strangers[:5]}")
    strangers = sorted({o for o in state.by_order if o not in known})
    if strangers:
        problems.append(f"events about unknown orders: {strangers[:5]}")
    problems += _subscriber_totals(world, state)
    if not dead_letters_expected and any(state.dead_letters.values()):
        problems.append(f"dead letters: {state.dead_letters}")
    return problems


def _stock(world: World, state: State) -> list[str]:
    problems = []
    held: Counter[tuple[str, str]] = Counter()
    sold: Counter[tuple[str, str]] = Counter()
    for order_holds in state.holds.values():
        for hold in order_holds:
            key = (hold["sku"], hold["warehouseId"])
            if hold["status"] == "HELD":
                held[key] += hold["quantity"]
            elif hold["status"] == "SOLD":
                sold[key] += hold["quantity"]
    for key in set(world.initial_stock) | set(state.stock):
        level = state.stock.get(key, {"available": 0, "held": 0, "sold": 0})
        total = level["available"] + level["held"] + level["sold"]
        if total != world.initial_stock.get(key, 0):
            problems.append(f"stock {key}: available+held+sold = {total}, seeded {world.initial_stock.get(key, 0)}")
        if min(level.values()) < 0:
            problems.append(f"stock {key}: negative {level}")
        if (level["held"], level["sold"]) != (held[key], sold[key]):
            problems.append(
                f"stock {key}: held/sold {level['held']}/{level['sold']} but holds say {held[key]}/{sold[key]}"
            )
    return problems


def _subscriber_totals(world: World, state: State) -> list[str]:
    problems = []
    # One logical OrderCompleted per order (a copy put again after a lost answer is the same event):
    # the subscribers' sums are over orders.
    by_order: dict[str, dict[str, Any]] = {}
    twice = set()
    for event in state.events:
        if event["detail-type"] == constants.EVENT_ORDER_COMPLETED:
            data = event["detail"]["data"]
            if by_order.setdefault(data["orderId"], data) != data:
                twice.add(data["orderId"])
    if twice:
        problems.append(f"two different OrderCompleted events for one order: {sorted(twice)[:5]}")
    completed = list(by_order.values())
    ids = Counter(by_order)

    # analytics: per variant (all SKUs, and per SKU), summed over days
    want: Counter[tuple[str, str, str]] = Counter()
    for data in completed:
        variant = data.get("siteVariant") or "control"
        want[(variant, "ALL", "orders")] += 1
        want[(variant, "ALL", "revenueCents")] += int(data["subtotalCents"])
        # and per channel (the channel travels on the event; web when it names none)
        channel = ("CHANNEL", data.get("channel") or "web")
        want[(*channel, "orders")] += 1
        want[(*channel, "revenueCents")] += int(data["subtotalCents"])
        want[(*channel, "units")] += sum(int(line["quantity"]) for line in data["lines"])
        for sku in {line["sku"] for line in data["lines"]}:
            want[(variant, sku, "orders")] += 1
        for line in data["lines"]:
            want[(variant, "ALL", "units")] += int(line["quantity"])
            want[(variant, line["sku"], "units")] += int(line["quantity"])
            want[(variant, line["sku"], "revenueCents")] += int(line["lineTotalCents"])
    have: Counter[tuple[str, str, str]] = Counter()
    for item in state.tables["Analytics"]:
        if item["pk"].startswith("DAY#"):
            # VARIANT#<variant>#SKU#<sku> | VARIANT#<variant>#ALL | CHANNEL#<channel>
            variant, _, rest = item["sk"].removeprefix("VARIANT#").partition("#")
            scope = rest.removeprefix("SKU#")
            for name in ("orders", "units", "revenueCents"):
                have[(variant, scope, name)] += int(item.get(name, 0))
    if +have != +want:
        diff = {k: (have[k], want[k]) for k in set(have) | set(want) if have[k] != want[k]}
        problems.append(
            f"analytics counters differ from the completed orders (have, want): {dict(list(diff.items())[:4])}"
        )

    # inventory subscriber: units sold per SKU x warehouse, summed over days
    want_units: Counter[str] = Counter()
    for data in completed:
        for line in data["lines"]:
            want_units[f"SALES#{line['sku']}#{data['warehouseId']}"] += int(line["quantity"])
    have_units: Counter[str] = Counter()
    for item in state.tables["Inventory"]:
        if item["pk"].startswith("SALES#"):
            have_units[item["pk"]] += int(item.get("units", 0))
    if +have_units != +want_units:
        problems.append("inventory sales counters differ from the completed orders")

    # reorder suggestions: one claim, one event, per suggestion
    suggestions = Counter(
        e["detail"]["data"]["suggestionId"]
        for e in state.events
        if e["detail-type"] == constants.EVENT_REORDER_SUGGESTED
    )
    claims = sum(1 for i in state.tables["Inventory"] if i["pk"].startswith("REORDER#"))
    if any(n > 1 for n in suggestions.values()) or len(suggestions) != claims:
        problems.append(f"{claims} reorder claims, suggestion events {dict(suggestions.most_common(3))}")

    # failure_stats: orders per error == OrderFailed events per error
    failures = {
        e["detail"]["data"]["orderId"]: str(e["detail"]["data"].get("error"))
        for e in state.events
        if e["detail-type"] == constants.EVENT_ORDER_FAILED
    }
    want_errors = Counter(failures.values())
    have_errors: Counter[str] = Counter()
    for item in state.tables["FailureStats"]:
        if item["pk"].startswith("DAY#"):
            have_errors[item["sk"].removeprefix("ERROR#")] += int(item.get("orders", 0))
    if +have_errors != +want_errors:
        problems.append(f"failure_stats {dict(have_errors)} != OrderFailed events {dict(want_errors)}")

    # audit: the chain verifies and holds every archived event exactly once
    if not state.audit.ok:
        problems.append(f"audit chain does not verify: {state.audit}")
    records = [i for i in state.tables["Audit"] if i["pk"] == "CHAIN" and i["sk"].startswith("SEQ#")]
    keys = Counter(r["eventKey"] for r in records)
    archived = {event_key(e["source"], e["detail-type"], e["detail"]) for e in state.events}
    if any(n > 1 for n in keys.values()) or set(keys) != archived:
        problems.append(
            f"audit has {len(records)} records for {len(archived)} distinct events "
            f"({len(archived - set(keys))} missing, {len(set(keys) - archived)} unknown)"
        )

    # one confirmation e-mail per completed order, none other; at most one tracking e-mail per order
    # (notifications reacts to logistics' ShipmentAssigned too: a reaction to a reaction)
    subjects = Counter(m.subject for m in state.emails if m.subject.endswith(" is confirmed"))
    if sum(subjects.values()) != len(ids) or any(n > 1 for n in subjects.values()):
        problems.append(f"{sum(subjects.values())} confirmation e-mails for {len(ids)} completed orders")
    tracking = Counter(m.subject for m in state.emails if " ships with " in m.subject)
    if sum(tracking.values()) > len(ids) or any(n > 1 for n in tracking.values()):
        problems.append(f"{sum(tracking.values())} tracking e-mails for {len(ids)} completed orders")

    # logistics: one ShipmentAssigned (copies are the same event) and one tracking e-mail per shipped
    # completed order, and nothing for any other order
    shipped = {o for o in ids if ships(state, o)}
    assigned: dict[str, set[str]] = defaultdict(set)
    for event in state.events:
        if event["detail-type"] == constants.EVENT_SHIPMENT_ASSIGNED:
            data = event["detail"]["data"]
            assigned[data["orderId"]].add(json.dumps(data, sort_keys=True))
    if set(assigned) != shipped or any(len(v) > 1 for v in assigned.values()):
        problems.append(
            f"ShipmentAssigned for {len(assigned)} orders, {len(shipped)} shipped completed orders "
            f"(missing {sorted(shipped - set(assigned))[:4]}, unexpected {sorted(set(assigned) - shipped)[:4]}, "
            f"conflicting {sorted(o for o, v in assigned.items() if len(v) > 1)[:4]})"
        )
    if sum(tracking.values()) != len(shipped):
        problems.append(f"{sum(tracking.values())} tracking e-mails for {len(shipped)} shipped completed orders")
    booked = {
        i["pk"].removeprefix("ORDER#") for i in state.tables["Logistics"] if i["sk"] == "SHIPMENT" and i.get("status")
    }
    if booked - shipped:
        problems.append(f"logistics shipments for orders that did not ship: {sorted(booked - shipped)[:4]}")
    return problems


def check_no_trace(world: World, runs: Iterable[OrderRun]) -> list[str]:
    """Rejected input left nothing: no payment, hold or ledger entry under its order id or execution
    name, no event about it. (Key lookups: cheap enough for every batch; `check` scans everything.)"""
    dynamodb = world.sandbox.resource("dynamodb")
    outputs = world.sandbox.outputs
    inventory, ledger = (
        dynamodb.Table(outputs[k]) for k in (constants.OUTPUT_INVENTORY_TABLE, constants.OUTPUT_LEDGER_TABLE)
    )
    payments = dynamodb.Table(outputs[constants.OUTPUT_PAYMENTS_TABLE])
    correlated = {str(e["detail"].get("metadata", {}).get("correlationId")) for e in archived_events(world)}
    problems = []
    for run in runs:
        order_id = run.order.get("orderId") if isinstance(run.order, dict) else None
        for key in {run.name, *([order_id] if isinstance(order_id, str) and order_id else [])}:
            pk = f"ORDER#{key}"
            traces = [
                what
                for what, found in (
                    ("payment", "Item" in payments.get_item(Key={"orderId": key})),
                    ("holds", inventory.query(KeyConditionExpression=Key("pk").eq(pk))["Items"]),
                    ("ledger", ledger.query(KeyConditionExpression=Key("pk").eq(pk))["Items"]),
                    ("events", key in correlated),
                )
                if found
            ]
            if traces:
                problems.append(f"{run.name}: rejected input left {', '.join(traces)} under {key!r}")
    return problems


def leftovers(world: World, runs: Iterable[OrderRun]) -> dict[str, dict[str, Any]]:
    """What each Order.CompensationFailed order left for a person: held units, payment status."""
    state = read_state(world)
    found = {}
    for run in runs:
        if run.result is None or run.result.error != constants.ERROR_COMPENSATION_FAILED:
            continue
        payment = state.payments.get(run.name)
        found[run.name] = {
            "heldUnits": sum(h["quantity"] for h in state.holds.get(run.name, []) if h["status"] == "HELD"),
            "payment": payment["status"] if payment else None,
            "brokenSteps": sorted(model.STEPS[step].state for step in left_undone(run) if step in model.STEPS),
        }
    return found
