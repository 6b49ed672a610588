"""start and status against the sandbox server, and their error paths."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.account import Sandbox
from tests.orderctl.conftest import Orderctl, OrderIds, free_port
from tests.orderctl.support import settle


def test_start_runs_an_order_and_status_shows_where_it_went(orderctl: Orderctl, new_id: OrderIds) -> None:
    order_id = new_id("happy")
    started = orderctl.ok("start", "--example", "happy", "--order-id", order_id, "--wait", "30")
    assert started.out.startswith(f"Started order {order_id}.\nOrder {order_id}: SUCCEEDED")
    assert "ValidateOrder -> ReserveStock -> PriceOrder -> CollectPayment" in started.out

    status = orderctl.data("status", order_id)
    assert status["status"] == "SUCCEEDED" and status["channel"] == "web"
    assert status["states"][:4] == ["ValidateOrder", "ReserveStock", "PriceOrder", "CollectPayment"]
    assert status["states"][-3:] == ["NotifyWarehouse", "RecordAccounting", "PublishOrderCompleted"]
    assert not {"WaitForPaymentReview", "RefundPayment", "ReleaseStock"} & set(status["states"])
    assert status["error"] is None and status["currentState"] is None
    assert (status["payment"]["status"], status["payment"]["amountCents"]) == ("APPROVED", 2974)
    assert ":execution:" in status["executionArn"] and status["executionArn"].endswith(f":{order_id}")


def test_starting_the_same_order_twice_runs_it_once(orderctl: Orderctl, server: Sandbox, new_id: OrderIds) -> None:
    order_id = new_id("twice")
    first = orderctl.data("start", "--example", "happy", "--order-id", order_id, "--wait", "30")
    again = orderctl.ok("start", "--example", "happy", "--order-id", order_id)
    assert first["started"] is True
    assert f"Order {order_id} was already started: not started again." in again.out
    executions = server.client("stepfunctions").list_executions(stateMachineArn=server.outputs["StateMachineArn"])
    assert [e["name"] for e in executions["executions"]].count(order_id) == 1

    other = orderctl("start", "--example", "declined", "--order-id", order_id)
    assert other.code == 1
    assert f"order {order_id} was already started with a different order" in other.err


def test_start_from_arguments_checks_the_total_the_customer_saw(orderctl: Orderctl, new_id: OrderIds) -> None:
    order_id = new_id("args")
    missing_total = orderctl("start", "--order-id", order_id, "--item", "MUG-BLUE=3")
    assert missing_total.code == 2
    assert "--item changes what the order costs" in missing_total.err
    assert "--displayed-total" in missing_total.err

    # The example of `start --help`: three mugs to Berlin (the happy example's address) cost 41.66.
    ran = orderctl.data(
        "start", "--order-id", order_id, "--item", "MUG-BLUE=3", "--displayed-total", "41.66",
        "--variant", "checkout-v3", "--token", "tok_visa", "--wait", "30",
    )  # fmt: skip
    assert ran["status"] == "SUCCEEDED"
    assert ran["payment"]["amountCents"] == 4166
    sold = {v["variant"]: v for v in orderctl.data("sales", "--sku", "MUG-BLUE")["variants"]}
    assert (sold["checkout-v3"]["orders"], sold["checkout-v3"]["units"]) == (1, 3)

    wrong_total = new_id("args")
    failed = orderctl.data(
        "start", "--order-id", wrong_total, "--item", "MUG-BLUE=3", "--displayed-total", "40", "--wait", "30"
    )
    assert (failed["status"], failed["error"], failed["failedAt"]) == ("FAILED", "Order.PriceMismatch", "PriceOrder")

    bad_item = orderctl("start", "--order-id", new_id("args"), "--item", "MUG-BLUE", "--displayed-total", "1")
    assert bad_item.code == 2
    assert "write SKU=QUANTITY" in bad_item.err


def test_start_from_a_file(orderctl: Orderctl, new_id: OrderIds, tmp_path: Path) -> None:
    order = json.loads(Path("examples/orders/declined.json").read_text())
    order["orderId"] = new_id("file")
    path = tmp_path / "order.json"
    path.write_text(json.dumps(order))
    ran = orderctl.data("start", "--file", str(path), "--wait", "30")
    assert (ran["orderId"], ran["status"], ran["error"]) == (order["orderId"], "FAILED", "Order.PaymentDeclined")

    path.write_text('{"orderId": "x",\n  "items": [}')
    broken = orderctl("start", "--file", str(path))
    assert broken.code == 2
    assert f"{path} is not JSON" in broken.err and "line 2" in broken.err

    missing = orderctl("start", "--file", str(tmp_path / "nope.json"))
    assert missing.code == 2 and "no such file" in missing.err

    path.write_text(json.dumps({**order, "orderId": "has spaces"}))
    bad_id = orderctl("start", "--file", str(path))
    assert bad_id.code == 2 and "'has spaces' is not an order id" in bad_id.err

    unknown = orderctl("start", "--example", "nope")
    assert unknown.code == 2
    assert "no example named 'nope'" in unknown.err and "happy" in unknown.err


def test_status_of_a_failed_order_names_the_error_the_cause_and_the_step(orderctl: Orderctl, new_id: OrderIds) -> None:
    order_id = new_id("declined")
    orderctl.ok("start", "--example", "declined", "--order-id", order_id)
    settle(orderctl, order_id)
    text = orderctl.ok("status", order_id).out
    assert f"Order {order_id}: FAILED with Order.PaymentDeclined" in text
    assert "error      Order.PaymentDeclined (in CollectPayment)" in text
    assert "cause      The payment of 35.52 EUR for order" in text  # the message, not the JSON payload
    assert (
        "RefundPayment -> ReleaseStock -> NameTheFailure -> PublishOrderFailed -> CompensationOutcome -> FailOrder"
        in text
    )

    invalid = new_id("invalid")
    orderctl.ok("start", "--example", "invalid", "--order-id", invalid)
    status = settle(orderctl, invalid)
    assert status["error"] == "Order.Invalid" and "items[0].quantity" in status["cause"]
    assert status["payment"] is None


def test_status_and_trace_show_the_channel_an_order_came_through(
    orderctl: Orderctl, server: Sandbox, new_id: OrderIds
) -> None:
    """A marketplace's order, started as its intake starts it (the channel is in the execution's input)."""
    order = json.loads((Path("examples/orders/happy.json")).read_text())
    order_id = "ebuy-" + new_id("channel")
    order.update(orderId=order_id, channel="marketplace:ebuy", payment={"method": "prepaid", "token": "EBPAY-1"})
    order["displayedTotal"] = 27.41  # ebuy sells below our list price (lambdas/marketplaces/registry.py)
    sfn = server.client("stepfunctions")
    sfn.start_execution(stateMachineArn=server.outputs["StateMachineArn"], name=order_id, input=json.dumps(order))
    assert settle(orderctl, order_id)["channel"] == "marketplace:ebuy"
    assert "channel    marketplace:ebuy" in orderctl.ok("status", order_id).out
    assert orderctl.ok("trace", order_id).out.startswith(f"Order {order_id} (marketplace:ebuy): ")
    assert orderctl.data("trace", order_id)["channel"] == "marketplace:ebuy"


def test_status_of_unknown_or_malformed_ids(orderctl: Orderctl) -> None:
    unknown = orderctl("status", "ord-does-not-exist")
    assert unknown.code == 1
    assert unknown.out == ""
    assert "orderctl: error: no order 'ord-does-not-exist'" in unknown.err

    malformed = orderctl("status", "ord/1")
    assert malformed.code == 2
    assert "'ord/1' is not an order id" in malformed.err


def test_stage_targets_that_stages_stack(orderctl: Orderctl, new_id: OrderIds) -> None:
    order_id = new_id("stage")
    orderctl.ok("--stage", "dev", "start", "--example", "happy", "--order-id", order_id, "--wait", "30")
    assert orderctl.data("status", order_id, "--stage", "dev")["status"] == "SUCCEEDED"  # dev: OrderProcessing
    other = orderctl("--stage", "prod", "status", order_id)
    assert other.code == 1 and "stack 'OrderProcessing-prod' not found at http://127.0.0.1:" in other.err
    bad = orderctl("--stage", "Prod!", "status", order_id)
    assert bad.code == 2 and "'Prod!' is not a stage" in bad.err


def test_a_stack_that_is_not_there(orderctl: Orderctl) -> None:
    missing = orderctl("--stack", "NoSuchStack", "status", "ord-1")
    assert missing.code == 1
    assert "stack 'NoSuchStack' not found at http://127.0.0.1:" in missing.err
    assert "make serve" in missing.err


def test_an_endpoint_that_does_not_answer() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    nobody = Orderctl(url)("status", "ord-1")
    assert nobody.code == 1
    assert f"orderctl: error: cannot reach {url}" in nobody.err
    assert "make serve" in nobody.err
