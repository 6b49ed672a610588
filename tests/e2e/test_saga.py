"""The saga's findings of issue 10, each pinned in the sandbox against docs/SAGA-SPEC.md.

1. A finished sale is never unwound: after the commit point (NotifyWarehouse) nothing refunds; a step
   that keeps failing stops the execution at that state, and a redrive finishes the order.
2. Compensation goes on past a step that fails for good: stock is released, OrderFailed is published
   naming what is left, and the order ends in Order.CompensationFailed.
5. One order, one outcome: an execution not named after its order id is refused at ValidateOrder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from lambdas.shared import constants
from sandbox import demo, observe, scenarios
from sandbox.account import ACCOUNT_ID, Sandbox
from sandbox.faults import Fault, FaultInjector, Kind
from tests.e2e.conftest import BatchRun

pytestmark = pytest.mark.e2e

COMMITTED = ("NotifyWarehouse", "RecordAccounting", "PublishOrderCompleted")
UNDO = ("CancelShipment", "RefundPayment", "ReleaseStock", "PublishOrderFailed")


@pytest.fixture
def injector(sandbox: Sandbox, batch_run: BatchRun) -> Iterator[FaultInjector]:
    """A fault injector on this sandbox for one test (after the package's batch ran without one)."""
    hook = FaultInjector()
    sandbox.invocation_hook = hook
    try:
        yield hook
    finally:
        sandbox.invocation_hook = None


@pytest.fixture
def shop(sandbox: Sandbox) -> scenarios.Storefront:
    return scenarios.Storefront(scenarios.load_catalog(), demo.deployed_pricing(sandbox))


_counter = iter(range(1, 10_000))


def new_order(shop: scenarios.Storefront, token: str = "tok_visa") -> dict[str, Any]:
    order = shop.order("saga", [("MUG-BLUE", 1)], token=token)
    order["orderId"] = f"saga-{next(_counter):04d}"
    return order


WORKFLOW_EVENTS = (constants.EVENT_ORDER_COMPLETED, constants.EVENT_ORDER_FAILED)


def bus_events(sandbox: Sandbox, order_id: str) -> list[dict[str, Any]]:
    """The workflow's events about one order as the bus archived them (every put, once); what subscribers
    publish in reaction (ShipmentAssigned, ...) is theirs."""
    from moto.events.models import events_backends

    name = sandbox.outputs[constants.OUTPUT_EVENT_ARCHIVE_ARN].rsplit("/", 1)[-1]
    events = []
    for event in list(events_backends[ACCOUNT_ID][sandbox.region].archives[name].events):
        detail = event["detail"] if isinstance(event["detail"], dict) else json.loads(event["detail"])
        if event["detail-type"] in WORKFLOW_EVENTS and detail.get("data", {}).get("orderId") == order_id:
            events.append({"type": event["detail-type"], "detail": detail})
    return events


def warehouse_messages(sandbox: Sandbox, order_id: str) -> list[dict[str, Any]]:
    """Messages the warehouses' FIFO queues hold for the order (read without deleting)."""
    sqs = sandbox.client("sqs")
    found = []
    for url in sqs.list_queues().get("QueueUrls", []):
        if not url.endswith(".fifo") or "eadLetter" in url:
            continue
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
            "Messages", []
        ):
            body = json.loads(message["Body"])
            if body.get("orderId") == order_id:
                found.append(body)
    return found


def run(sandbox: Sandbox, order: dict[str, Any], name: str | None = None) -> Any:
    runner = sandbox.runner()
    arn = sandbox.client("stepfunctions").start_execution(
        stateMachineArn=runner.state_machine_arn, name=name or order["orderId"], input=json.dumps(order)
    )["executionArn"]
    runner.wait([arn], timeout=120)
    sandbox.drain()
    return runner.result(arn)


# ---------------------------------------------------------------------------
# 1. After the commit point nothing is undone
# ---------------------------------------------------------------------------
def test_a_booking_that_keeps_failing_stops_the_order_without_unwinding_the_sale(
    sandbox: Sandbox, shop: scenarios.Storefront, injector: FaultInjector
) -> None:
    order = new_order(shop)
    injector.add(order["orderId"], Fault("record_accounting", Kind.CRASH))  # a bug, every attempt
    result = run(sandbox, order)

    assert (result.status, result.error, result.states[-1]) == ("FAILED", "RuntimeError", "RecordAccounting")
    assert not set(UNDO) & set(result.states), "a committed order was compensated"
    assert injector.attempts(order["orderId"], "record_accounting") == 11  # 1 + the README's 10 retries
    assert observe.payment(sandbox, order["orderId"])["status"] == "APPROVED"  # never refunded
    assert {h["status"] for h in observe.holds(sandbox, order["orderId"]).values()} == {"HELD"}
    assert [m["type"] for m in warehouse_messages(sandbox, order["orderId"])] == ["ShipOrder"]
    assert bus_events(sandbox, order["orderId"]) == []  # neither OrderCompleted nor OrderFailed


def test_a_redrive_finishes_a_stopped_order_exactly_once(
    sandbox: Sandbox, shop: scenarios.Storefront, injector: FaultInjector
) -> None:
    order = new_order(shop)
    injector.add(order["orderId"], Fault("record_accounting", Kind.SERVICE_ERROR))
    stopped = run(sandbox, order)
    assert (stopped.status, stopped.states[-1]) == ("FAILED", "RecordAccounting")

    injector.remove(order["orderId"], "record_accounting")  # the cause is fixed
    sfn = sandbox.client("stepfunctions")
    sfn.redrive_execution(executionArn=stopped.execution_arn)
    sandbox.runner().wait([stopped.execution_arn], timeout=120)
    sandbox.drain()
    finished = sandbox.runner().result(stopped.execution_arn)

    assert finished.status == "SUCCEEDED"
    assert finished.states.count("CollectPayment") == 1  # only the remaining states ran again
    assert set(observe.ledger(sandbox, order["orderId"])) == {"TXN#SALE"}
    assert [e["type"] for e in bus_events(sandbox, order["orderId"])] == ["OrderCompleted"]
    assert {h["status"] for h in observe.holds(sandbox, order["orderId"]).values()} == {"SOLD"}
    with pytest.raises(sfn.exceptions.ExecutionNotRedrivable):
        sfn.redrive_execution(executionArn=stopped.execution_arn)


# ---------------------------------------------------------------------------
# 2. Compensation goes on past a step that fails for good
# ---------------------------------------------------------------------------
def declined_with_a_broken_compensation(
    sandbox: Sandbox, shop: scenarios.Storefront, injector: FaultInjector, fault: Fault
) -> tuple[dict[str, Any], Any]:
    """A declined order whose compensation step `fault.function` fails for good; it must end CompensationFailed."""
    order = new_order(shop, token="tok_decline_saga")
    injector.add(order["orderId"], fault)
    result = run(sandbox, order)
    assert (result.status, result.error) == ("FAILED", constants.ERROR_COMPENSATION_FAILED)
    return order, result


def test_a_refund_that_fails_for_good_still_releases_the_stock_and_tells_the_customer(
    sandbox: Sandbox, shop: scenarios.Storefront, injector: FaultInjector
) -> None:
    order, result = declined_with_a_broken_compensation(sandbox, shop, injector, Fault("refund_payment", Kind.CRASH))
    assert result.states[-7:] == [
        "RefundPayment",
        "ReleaseStock",
        "NameTheFailure",
        "PublishOrderFailed",
        "CompensationOutcome",
        "CompensationIncomplete",
        "CompensationFailed",
    ]
    assert f"orderctl repair {order['orderId']}" in result.cause
    assert constants.ERROR_PAYMENT_DECLINED in result.cause  # the original failure is not hidden
    assert {h["status"] for h in observe.holds(sandbox, order["orderId"]).values()} == {"RELEASED"}
    [failed] = bus_events(sandbox, order["orderId"])
    assert failed["type"] == "OrderFailed"
    assert failed["detail"]["data"]["error"] == constants.ERROR_PAYMENT_DECLINED
    left = failed["detail"]["data"]["compensation"]
    assert "Error" in left["refundPayment"] and "Error" not in left["releaseStock"]


def test_a_release_that_fails_for_good_is_named_and_the_order_still_published(
    sandbox: Sandbox, shop: scenarios.Storefront, injector: FaultInjector
) -> None:
    fault = Fault("release_stock", Kind.SERVICE_ERROR)
    order, _ = declined_with_a_broken_compensation(sandbox, shop, injector, fault)
    assert observe.payment(sandbox, order["orderId"])["status"] == "DECLINED"
    [failed] = bus_events(sandbox, order["orderId"])
    assert failed["detail"]["data"]["compensation"]["releaseStock"]["Error"] == "Lambda.ServiceException"


# ---------------------------------------------------------------------------
# 5. One order, one execution, one outcome
# ---------------------------------------------------------------------------
def test_an_order_started_under_another_name_is_refused_before_anything_happens(
    sandbox: Sandbox, shop: scenarios.Storefront
) -> None:
    order = new_order(shop)
    result = run(sandbox, order, name=order["orderId"] + "-again")

    assert (result.status, result.error) == ("FAILED", constants.ERROR_INVALID)
    assert "must equal the execution name" in result.cause
    assert result.states == ["ValidateOrder", "NameTheRejection", "RejectOrder"]
    assert observe.holds(sandbox, order["orderId"]) == {}
    assert observe.payment(sandbox, order["orderId"]) is None
    assert bus_events(sandbox, order["orderId"]) == []


def test_a_completed_order_started_again_under_another_name_keeps_its_one_outcome(
    sandbox: Sandbox, batch_run: BatchRun
) -> None:
    done = batch_run.one(scenarios.HAPPY)
    order_id = done.scenario.order_id
    before = (observe.payment(sandbox, order_id), observe.holds(sandbox, order_id), bus_events(sandbox, order_id))

    again = run(sandbox, done.scenario.order, name=f"{order_id}-retry")

    assert (again.status, again.error) == ("FAILED", constants.ERROR_INVALID)
    assert (observe.payment(sandbox, order_id), observe.holds(sandbox, order_id), bus_events(sandbox, order_id)) == (
        before
    )
    assert [e["type"] for e in before[2]] == ["OrderCompleted"]
