"""The fault model and the expectations, without a sandbox."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from lambdas.shared import constants
from lambdas.shared.errors import InvalidOrder
from lambdas.shared.order import CatalogItem, check_catalog, parse_order
from sandbox import scenarios
from sandbox.faults import ASYNC_KINDS, Budget, Fault, Kind, RandomFaults, function_key, order_id_of
from tests.reliability import model
from tests.reliability.bad_input import Mutation, bad_order

ASL = json.loads(Path(constants.ASL_FILE).read_text())
BUDGETS = {
    **model.task_budgets(ASL),
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


def test_random_plans_are_reproducible_from_the_seed() -> None:
    functions = {f: BUDGETS[f] for f in model.functions_on(scenarios.HAPPY)}
    plans = [[RandomFaults(random.Random(7)).plan(functions) for _ in range(50)] for _ in range(2)]
    assert plans[0] == plans[1] and any(plans[0])
    other = [RandomFaults(random.Random(8)).plan(functions) for _ in range(50)]
    assert other != plans[0]


def test_retry_budgets_come_from_the_workflow_definition() -> None:
    assert BUDGETS[model.RESERVE] == Budget(4, model.TRANSIENT_KINDS, False)
    assert BUDGETS[model.REFUND].retries == 6 and BUDGETS[model.REFUND].retries_everything
    assert Kind.TASK_TIMEOUT not in BUDGETS[model.REVIEW].kinds  # a callback's timeout is the review's


@pytest.mark.parametrize(
    ("path", "faults", "expected"),
    [
        (scenarios.HAPPY, [], ("SUCCEEDED", None, "OrderCompleted")),
        (scenarios.HAPPY, [Fault(model.RESERVE, Kind.THROTTLE, 4)], ("SUCCEEDED", None, "OrderCompleted")),
        (
            scenarios.HAPPY,
            [Fault(model.RESERVE, Kind.THROTTLE, 5)],
            ("FAILED", "Lambda.TooManyRequestsException", "OrderFailed"),
        ),
        (scenarios.HAPPY, [Fault(model.PRICE, Kind.CRASH, 1)], ("FAILED", "RuntimeError", "OrderFailed")),
        (
            scenarios.HAPPY,
            [Fault(model.RECORD, Kind.LOST_REPLY)],
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
            ("FAILED", constants.ERROR_COMPENSATION_FAILED, None),
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
