"""orderctl repair / sweep against the sandbox server, on stuck states made for real (faults injected)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdas.shared.adapters import inventory
from lambdas.shared.adapters.payments import PaymentsTable
from lambdas.sweeper.logic import GRACE_SECONDS
from sandbox.account import Sandbox
from sandbox.faults import Fault, FaultInjector, Kind
from tests.orderctl.conftest import Orderctl, OrderIds
from tests.orderctl.support import settle

HAPPY = json.loads(Path("examples/orders/happy.json").read_text())


@pytest.fixture
def faults(server: Sandbox) -> Iterator[FaultInjector]:
    """A fault injector on the shared server for one test."""
    injector = FaultInjector()
    previous, server.invocation_hook = server.invocation_hook, injector
    try:
        yield injector
    finally:
        server.invocation_hook = previous


def start(orderctl: Orderctl, order_id: str) -> dict:
    orderctl.ok("start", "--example", "happy", "--order-id", order_id)
    return settle(orderctl, order_id)


def payment_status(server: Sandbox, order_id: str) -> str:
    payments = PaymentsTable(server.resource("dynamodb").Table(server.outputs["PaymentsTableName"]))
    item = payments.get(order_id)
    assert item is not None
    return str(item["status"])


def holds(server: Sandbox, order_id: str) -> list[str]:
    with server.client_environment():
        return [h.status for h in inventory.order_holds(order_id, table_name=server.outputs["InventoryTableName"])]


def stuck_ids(orderctl: Orderctl) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for outcome in orderctl("sweep", "--json").json:
        found.setdefault(outcome["orderId"], []).append(outcome["kind"])
    return found


def test_repair_finishes_a_compensation_that_failed_once_and_only_once(
    orderctl: Orderctl, server: Sandbox, faults: FaultInjector, new_id: OrderIds
) -> None:
    order_id = new_id("comp")
    # The charge is captured, then the function reports a crash: the order compensates. Its refund
    # keeps crashing: the execution ends Order.CompensationFailed with the money still captured.
    faults.add(order_id, Fault("collect_payment", Kind.CRASH_AFTER), Fault("refund_payment", Kind.CRASH))
    ended = start(orderctl, order_id)
    assert (ended["status"], ended["error"]) == ("FAILED", "Order.CompensationFailed")
    assert payment_status(server, order_id) == "APPROVED"
    assert holds(server, order_id) == ["RELEASED"]  # independent compensation: the release still ran
    assert stuck_ids(orderctl)[order_id] == ["compensation-failed"]

    faults.remove(order_id, "refund_payment")  # the cause is fixed
    refunds_tried = faults.attempts(order_id, "refund_payment")
    dry = orderctl.data("repair", order_id, "--dry-run")
    assert [o["did"] for o in dry["outcomes"]] == [["would repeat RefundPayment (failed with RuntimeError)"]]
    assert payment_status(server, order_id) == "APPROVED"

    repaired = orderctl.ok("repair", order_id)
    assert repaired.out.startswith(f"Repaired order {order_id}:")
    assert "RefundPayment: payment REFUNDED" in repaired.out
    assert "ReleaseStock" not in repaired.out  # only what was left
    assert payment_status(server, order_id) == "REFUNDED"
    assert faults.attempts(order_id, "release_stock") == 1

    again = orderctl.ok("repair", order_id)
    assert again.out.strip() == f"Order {order_id}: nothing left to repair (execution FAILED)."
    assert faults.attempts(order_id, "refund_payment") == refunds_tried + 1  # the first repair's, only
    assert order_id not in stuck_ids(orderctl)


def test_repair_publishes_order_failed_and_cancels_nothing_it_need_not(
    orderctl: Orderctl, server: Sandbox, faults: FaultInjector, new_id: OrderIds
) -> None:
    order_id = new_id("rel")
    faults.add(order_id, Fault("collect_payment", Kind.CRASH), Fault("release_stock", Kind.CRASH))
    ended = start(orderctl, order_id)
    assert ended["error"] == "Order.CompensationFailed"
    assert holds(server, order_id) == ["HELD"]
    faults.remove(order_id, "release_stock")
    repaired = orderctl.data("repair", order_id)
    (outcome,) = repaired["outcomes"]
    assert outcome["repaired"] and outcome["did"] == ["ReleaseStock: released 1 line(s)"]
    assert holds(server, order_id) == ["RELEASED"]


def test_repair_releases_stock_an_order_without_execution_holds(
    orderctl: Orderctl, server: Sandbox, new_id: OrderIds
) -> None:
    order_id = new_id("orphan")
    table = server.outputs["InventoryTableName"]
    with server.client_environment():
        before = inventory.stock_levels("MUG-BLUE", table_name=table)["WH-EU-1"]
        assert inventory.hold_stock(order_id, "WH-EU-1", [{"sku": "MUG-BLUE", "quantity": 2}], table_name=table) == []
    repaired = orderctl.ok("repair", order_id)
    assert "stock-held: 1 line(s) HELD with no execution: to be released" in repaired.out
    assert "ReleaseStock: released 1 line(s)" in repaired.out
    with server.client_environment():
        assert inventory.stock_levels("MUG-BLUE", table_name=table)["WH-EU-1"] == before
    assert orderctl.ok("repair", order_id).out.strip() == (
        f"Order {order_id}: nothing left to repair (no execution of that name)."
    )


def test_sweep_after_an_advance_judges_ages_on_the_sandbox_clock(
    orderctl: Orderctl, server: Sandbox, new_id: OrderIds
) -> None:
    """A hold stamped after `clock/advance` becomes stuck once the grace period passes on the sandbox's clock."""
    server.clock.advance(86_400)
    order_id = new_id("orphan")
    table = server.outputs["InventoryTableName"]
    with server.client_environment():
        assert inventory.hold_stock(order_id, "WH-EU-1", [{"sku": "MUG-BLUE", "quantity": 1}], table_name=table) == []
    assert order_id not in stuck_ids(orderctl)  # within the grace period
    server.clock.advance(GRACE_SECONDS + 60)
    assert stuck_ids(orderctl).get(order_id) == ["stock-held"]
    assert "ReleaseStock: released 1 line(s)" in orderctl.ok("repair", order_id).out


def test_repair_never_touches_a_running_order_and_refuses_a_bad_id(
    orderctl: Orderctl, server: Sandbox, faults: FaultInjector, new_id: OrderIds
) -> None:
    order_id = new_id("run")
    gate = faults.hold(order_id, "price_order")
    orderctl.ok("start", "--example", "happy", "--order-id", order_id)
    assert gate.reached.wait(30)
    try:
        running = orderctl.data("repair", order_id)
        assert (running["executionStatus"], running["outcomes"]) == ("RUNNING", [])
        assert holds(server, order_id) == ["HELD"]
    finally:
        gate.release()
    assert settle(orderctl, order_id)["status"] == "SUCCEEDED"
    assert orderctl("repair", "not an id").code == 2


def test_a_stalled_order_is_redriven_to_success(
    orderctl: Orderctl, server: Sandbox, faults: FaultInjector, new_id: OrderIds
) -> None:
    order_id = new_id("stall")
    faults.add(order_id, Fault("record_accounting", Kind.CRASH))
    ended = start(orderctl, order_id)
    assert (ended["status"], ended["failedAt"]) == ("FAILED", "RecordAccounting")
    assert payment_status(server, order_id) == "APPROVED"  # after the commit point nothing is undone
    assert stuck_ids(orderctl)[order_id] == ["stalled-after-commit"]
    faults.remove(order_id, "record_accounting")
    repaired = orderctl.ok("repair", order_id)
    assert "redrove the execution" in repaired.out
    assert settle(orderctl, order_id)["status"] == "SUCCEEDED"
    assert (
        orderctl.ok("repair", order_id).out.strip()
        == f"Order {order_id}: nothing left to repair (execution SUCCEEDED)."
    )
