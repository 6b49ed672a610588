"""The fault model and the expectations, without a sandbox."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings

from lambdas.shared import constants
from lambdas.shared.errors import InvalidOrder
from lambdas.shared.order import check_catalog, parse_order
from lambdas.shared.stock import CatalogItem
from sandbox import scenarios
from sandbox.faults import ASYNC_KINDS, Budget, Fault, Kind, RandomFaults, absorbed_by, function_key, order_id_of
from tests.reliability import model
from tests.reliability.bad_input import Mutation, bad_order

BUDGETS = {
    **model.budgets(),
    **{s: Budget(2, ASYNC_KINDS, True) for s in model.subscribers_for("OrderCompleted")},
}
BUDGETS["subscribers.failure_stats"] = Budget(2, ASYNC_KINDS, True)


def test_function_keys_and_order_ids_of_every_payload_shape() -> None:
    assert function_key("lambdas.reserve_stock.handler.handler") == "reserve_stock"
    assert function_key("lambdas.subscribers.audit.handler.handler") == "subscribers.audit"
    assert order_id_of({"orderId": "a"}) == "a"
    assert order_id_of({"order": {"orderId": "b"}}) == "b"
    assert order_id_of({"detail": {"metadata": {"correlationId": "c"}, "data": {}}}) == "c"
    assert order_id_of([1, 2]) is None and order_id_of({"orderId": 7}) is None


def test_an_asynchronous_function_only_takes_function_errors() -> None:
    with pytest.raises(ValueError):
        Fault("subscribers.audit", Kind.THROTTLE)
    with pytest.raises(ValueError):
        Fault("reserve_stock", Kind.CRASH, times=0)
    assert str(Fault("reserve_stock", Kind.LOST_REPLY, 2)) == "lost-reply in reserve_stock x2"


def test_throttling_has_its_own_longer_budget() -> None:
    # A 429 clears as running invocations finish: the step waits longer for it than for other transient errors.
    reserve = BUDGETS[model.RESERVE]
    assert not model.fatal(Fault(model.RESERVE, Kind.THROTTLE, reserve.throttle_retries), reserve)
    assert model.fatal(Fault(model.RESERVE, Kind.THROTTLE, reserve.throttle_retries + 1), reserve)
    assert model.fatal(Fault(model.RESERVE, Kind.SERVICE_ERROR, reserve.retries + 1), reserve)
    assert absorbed_by(Fault(model.RESERVE, Kind.THROTTLE, 1), reserve) == reserve.throttle_retries
    assert absorbed_by(Fault(model.RESERVE, Kind.SERVICE_ERROR, 1), reserve) == reserve.retries


def test_random_plans_are_reproducible_from_the_seed() -> None:
    functions = {f: BUDGETS[f] for f in model.functions_on(scenarios.HAPPY)}
    plans = [[RandomFaults(random.Random(7)).plan(functions) for _ in range(50)] for _ in range(2)]
    assert plans[0] == plans[1] and any(plans[0])
    other = [RandomFaults(random.Random(8)).plan(functions) for _ in range(50)]
    assert other != plans[0]


def test_retry_budgets_come_from_the_readme_not_from_the_workflow_definition() -> None:
    assert BUDGETS[model.RESERVE] == Budget(4, model.TRANSIENT_KINDS, False, throttle_retries=15)
    assert BUDGETS[model.RELEASE].throttle_retries == 20 and BUDGETS[model.NOTIFY].throttle_retries == 4
    assert BUDGETS[model.REFUND].retries == 6 and BUDGETS[model.REFUND].retries_everything
    assert BUDGETS[model.RECORD].retries == 10 and BUDGETS[model.RECORD].retries_everything
    assert BUDGETS[model.NOTIFY].retries == 4 and BUDGETS[model.PUBLISH_FAILED].retries_everything
    assert Kind.TASK_TIMEOUT not in BUDGETS[model.REVIEW].kinds  # a callback's timeout is the review's
    assert model.COMPENSATES[model.NOTIFY] == model.COMPENSATION
    assert model.COMPENSATES[model.PRICE] == (model.RELEASE, model.PUBLISH_FAILED)


@pytest.mark.parametrize(
    ("path", "faults", "expected"),
    [
        (scenarios.HAPPY, [], ("SUCCEEDED", None, "OrderCompleted")),
        (scenarios.HAPPY, [Fault(model.RESERVE, Kind.THROTTLE, 15)], ("SUCCEEDED", None, "OrderCompleted")),
        (
            scenarios.HAPPY,
            [Fault(model.RESERVE, Kind.THROTTLE, 16)],
            ("FAILED", "Lambda.TooManyRequestsException", "OrderFailed"),
        ),
        (scenarios.HAPPY, [Fault(model.RESERVE, Kind.SERVICE_ERROR, 4)], ("SUCCEEDED", None, "OrderCompleted")),
        (
            scenarios.HAPPY,
            [Fault(model.RESERVE, Kind.SERVICE_ERROR, 5)],
            ("FAILED", "Lambda.ServiceException", "OrderFailed"),
        ),
        (scenarios.HAPPY, [Fault(model.PRICE, Kind.CRASH, 1)], ("FAILED", "RuntimeError", "OrderFailed")),
        # After the commit point nothing is undone: the execution stops at the step, with its error.
        (scenarios.HAPPY, [Fault(model.RECORD, Kind.LOST_REPLY)], ("FAILED", "States.Timeout", None)),
        (scenarios.HAPPY, [Fault(model.RECORD, Kind.CRASH, 10)], ("SUCCEEDED", None, "OrderCompleted")),
        (
            scenarios.HAPPY,
            [Fault(model.PRICE, Kind.TASK_TIMEOUT)],
            ("FAILED", constants.ERROR_STEP_TIMED_OUT, "OrderFailed"),
        ),
        (scenarios.HAPPY, [Fault(model.VALIDATE, Kind.SERVICE_ERROR)], ("FAILED", "Lambda.ServiceException", None)),
        (
            scenarios.DECLINED,
            [Fault(model.REFUND, Kind.CRASH, 6)],
            ("FAILED", constants.ERROR_PAYMENT_DECLINED, "OrderFailed"),
        ),
        (
            scenarios.DECLINED,
            [Fault(model.REFUND, Kind.CRASH, 7)],
            ("FAILED", constants.ERROR_COMPENSATION_FAILED, "OrderFailed"),  # the rest still ran, OrderFailed too
        ),
        (
            scenarios.OUT_OF_STOCK,
            [Fault(model.COLLECT, Kind.CRASH)],
            ("FAILED", constants.ERROR_OUT_OF_STOCK, "OrderFailed"),
        ),
        (scenarios.INVALID, [Fault(model.RELEASE, Kind.CRASH)], ("FAILED", constants.ERROR_INVALID, None)),
    ],
)
def test_what_an_order_must_end_in(
    path: str, faults: list[Fault], expected: tuple[str, str | None, str | None]
) -> None:
    got = model.expect(path, {f.function: f for f in faults}, BUDGETS)
    assert (got.status, got.error, got.published) == expected


SKUS = ["BOTTLE-STEEL-750", "HEADPHONES-BT", "LAMP-ARC", "MUG-BLUE", "NOTEBOOK-A5-DOT", "TEE-ORGANIC-M"]
CATALOG = {sku: CatalogItem(sku, sku, 100, 1) for sku in SKUS}


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(bad_order(SKUS, ["DE", "FR", "GB", "US"], set(SKUS)))
def test_every_generated_bad_order_is_invalid_for_the_reason_it_was_made(mutation: Mutation) -> None:
    # The generator's promise, checked against the validator itself (fast, no sandbox): exactly
    # this field is wrong, so the sandbox suite can insist the cause names it.
    order, expected = mutation
    if isinstance(order, dict) and order.get("orderId") == "placeholder":
        order["orderId"] = "ord-1"
    with pytest.raises(InvalidOrder) as error:
        check_catalog(parse_order(json.loads(json.dumps(order)), "EUR")["items"], CATALOG)
    assert str(error.value).startswith(expected)


def test_service_integration_calls_are_recognised_by_what_they_send() -> None:
    from sandbox.faults import integration_call

    ship = {"MessageBody": json.dumps({"type": "ShipOrder", "orderId": "o-1"}), "MessageGroupId": "o-1"}
    assert integration_call("sqs", "sendMessage", ship) == ("NotifyWarehouse", "o-1")
    cancel = {"MessageBody": {"type": "CancelShipment", "orderId": "o-2"}}
    assert integration_call("sqs", "sendMessage", cancel) == ("CancelShipment", "o-2")
    detail = json.dumps({"metadata": {"correlationId": "o-3"}, "data": {}})
    put = {"Entries": [{"DetailType": constants.EVENT_ORDER_COMPLETED, "Detail": detail}]}
    assert integration_call("events", "putEvents", put) == ("PublishOrderCompleted", "o-3")
    reorder = {"Entries": [{"DetailType": constants.EVENT_REORDER_SUGGESTED, "Detail": detail}]}
    assert integration_call("events", "putEvents", reorder) == (None, None)


def test_integration_faults_fail_as_the_service_does_and_lost_replies_make_the_call() -> None:
    from botocore.exceptions import ClientError

    from sandbox.faults import FaultInjector

    injector = FaultInjector()
    injector.add("o-1", Fault("NotifyWarehouse", Kind.INTEGRATION_THROTTLED, times=1))
    injector.add("o-2", Fault("NotifyWarehouse", Kind.INTEGRATION_LOST_REPLY, times=1))
    calls: list[str] = []

    def call(order: str) -> object:
        params = {"MessageBody": json.dumps({"type": "ShipOrder", "orderId": order})}
        return injector.integration("sqs", "sendMessage", params, lambda: calls.append(order) or {"MessageId": "m"})

    with pytest.raises(ClientError) as throttled:
        call("o-1")
    assert throttled.value.response["Error"]["Code"] == "RequestThrottled" and calls == []
    assert call("o-1") == {"MessageId": "m"} and calls == ["o-1"]  # transient: the retry goes through
    with pytest.raises(TimeoutError):
        call("o-2")
    assert calls == ["o-1", "o-2"]  # the message was sent although the task saw a timeout
    assert Fault("PublishOrderCompleted", Kind.RESOURCE_MISSING).error.startswith("EventBridge.ResourceNotFound")
    with pytest.raises(ValueError):
        Fault("NotifyWarehouse", Kind.FAILED_ENTRY)  # SQS has no entries
    with pytest.raises(ValueError):
        Fault("PublishOrderFailed", Kind.ACCESS_DENIED, times=2)  # a missing grant does not heal
    with pytest.raises(ValueError):
        Fault("reserve_stock", Kind.INTEGRATION_ERROR)


def test_eventbridge_retries_a_retriable_delivery_failure_and_dead_letters_a_refusal() -> None:
    from sandbox.clock import Clock
    from sandbox.events import Delivery, LambdaTargets
    from sandbox.faults import FaultInjector

    injector = FaultInjector()
    injector.add("o-1", Fault("subscribers.audit", Kind.DELIVERY_THROTTLED, times=3))
    injector.add("o-2", Fault("subscribers.audit", Kind.DELIVERY_REFUSED, times=1))
    letters: list[dict[str, str]] = []
    targets = LambdaTargets(
        Clock(), lambda f, e: None, lambda arn: None, lambda arn, body, attrs: letters.append(attrs)
    )  # type: ignore[arg-type,return-value]
    targets.delivery_hook = injector.delivery

    class Rule:
        name, arn = "audit", "arn:aws:events:eu-west-1:1:rule/audit"

    class Function:
        handler = "lambdas.subscribers.audit.handler.handler"

    target = {"Id": "t", "Arn": "arn:fn", "RetryPolicy": {"MaximumRetryAttempts": 8}, "DeadLetterConfig": {"Arn": "q"}}
    for order, accepted in (("o-1", True), ("o-2", False)):
        event = {"detail-type": constants.EVENT_ORDER_COMPLETED, "detail": {"metadata": {"correlationId": order}}}
        delivery = Delivery("audit", "t", "arn:fn", "id", "OrderCompleted", order)
        assert targets._accepted(Rule(), target, event, delivery, Function()) is accepted  # type: ignore[arg-type]
    targets.close()
    assert injector.attempts("o-1", "delivery:subscribers.audit") == 4
    assert [a["ERROR_CODE"] for a in letters] == ["NO_PERMISSIONS"]  # not retried: straight to the DLQ
    assert injector.attempts("o-2", "delivery:subscribers.audit") == 1


def test_random_plans_draw_crash_after_in_tasks_faults_beyond_budget_and_lasting_subscriber_faults() -> None:
    from sandbox.faults import beyond_budget, outlasts

    draw = RandomFaults(random.Random(3), fault_probability=0.5)
    budgets = {**BUDGETS, **{s: Budget(2, ASYNC_KINDS, True) for s in ("subscribers.audit",)}}
    plans = [
        f
        for _ in range(400)
        for f in draw.plan({k: budgets[k] for k in (*model.functions_on("happy"), "subscribers.audit")})
    ]
    kinds = Counter(f.kind for f in plans)
    assert kinds[Kind.CRASH_AFTER] and kinds[Kind.INTEGRATION_LOST_REPLY] and kinds[Kind.DELIVERY_THROTTLED]
    assert any(beyond_budget(f, budgets[f.function]) for f in plans)
    lasting = [f for f in plans if f.function == "subscribers.audit" and outlasts(f, budgets[f.function])]
    assert lasting and any(f.permanent for f in lasting)


def test_channel_orders_follow_their_saga_spec_rows() -> None:
    # A store's sale handed over at the counter: no warehouse notice, so a failure at RecordAccounting stalls
    # after the commit and a failure before it compensates without CancelShipment.
    store, marketplace = scenarios.STORE_HANDED_OVER, scenarios.MARKETPLACE_SHIPPED
    assert model.NOTIFY not in model.PATHS[store][0] and model.NOTIFY in model.PATHS[marketplace][0]
    assert model.expect(store, {}, BUDGETS) == model.Expected("SUCCEEDED", None, constants.EVENT_ORDER_COMPLETED)
    stalled = model.expect(store, {model.RECORD: Fault(model.RECORD, Kind.CRASH)}, BUDGETS)
    assert stalled.stalled_at == model.RECORD and stalled.published is None
    failed = model.expect(marketplace, {model.PRICE: Fault(model.PRICE, Kind.CRASH)}, BUDGETS)
    assert failed.status == "FAILED" and failed.published == constants.EVENT_ORDER_FAILED
    # logistics' rule passes shipped orders only: no carrier, no ShipmentAssigned for a handed-over sale
    assert "subscribers.logistics" in model.subscribers_for(constants.EVENT_ORDER_COMPLETED, model.ships(marketplace))
    assert "subscribers.logistics" not in model.subscribers_for(constants.EVENT_ORDER_COMPLETED, model.ships(store))
