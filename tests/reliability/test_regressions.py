"""What the reliability suites found, each pinned by a scheduled fault (one order, one fault)."""

from __future__ import annotations

import pytest

from lambdas.shared import constants
from sandbox import scenarios
from sandbox.faults import Fault, Kind
from tests.reliability import invariants, model
from tests.reliability.world import OrderRun, World

pytestmark = pytest.mark.e2e


def run_one(world: World, faults: list[Fault], path: str = scenarios.HAPPY, **order: object) -> OrderRun:
    built = world.order("reg", [("MUG-BLUE", 2)], **order)  # type: ignore[arg-type]
    by_function = {f.function: f for f in faults}
    run = OrderRun(path, built, built["orderId"], faults, expected=model.expect(path, by_function, world.budgets))
    world.run_batch([run])
    problems = invariants.check(world, [run])
    assert not problems, problems
    return run


def test_a_function_that_times_out_is_retried(world: World) -> None:
    # Found: Sandbox.Timedout (a function's own timeout) was not in any Retry: one slow call failed the order.
    run = run_one(world, [Fault(model.RESERVE, Kind.FUNCTION_TIMEOUT, times=2)])
    assert run.result is not None and run.result.status == "SUCCEEDED"
    assert world.injector.attempts(run.name, model.RESERVE) == 3


def test_a_step_that_keeps_timing_out_ends_in_a_named_error_after_compensation(world: World) -> None:
    # Found: States.Timeout reached FailOrder's ErrorPath; a Fail state may not report States.*, so the
    # execution ended in States.Runtime instead of a named error, with OrderFailed saying otherwise.
    run = run_one(world, [Fault(model.PRICE, Kind.TASK_TIMEOUT)])
    assert run.result is not None
    assert (run.result.status, run.result.error) == ("FAILED", constants.ERROR_STEP_TIMED_OUT)
    assert run.result.states[-4:] == ["StepTimedOutHoldingStock", "ReleaseStock", "PublishOrderFailed", "FailOrder"]


def test_a_validation_that_keeps_timing_out_is_rejected_by_name(world: World) -> None:
    run = run_one(world, [Fault(model.VALIDATE, Kind.TASK_TIMEOUT)])
    assert run.result is not None
    assert (run.result.error, run.result.states[-2:]) == (
        constants.ERROR_STEP_TIMED_OUT,
        ["ValidationTimedOut", "RejectOrder"],
    )


def test_a_lost_reply_after_the_charge_charges_once(world: World) -> None:
    run = run_one(world, [Fault(model.COLLECT, Kind.LOST_REPLY, times=3)])
    assert run.result is not None and run.result.status == "SUCCEEDED"
    assert world.injector.attempts(run.name, model.COLLECT) == 4  # three charges that "timed out", one answer


def test_a_broken_compensation_is_named_and_its_leftovers_are_reported(world: World) -> None:
    run = run_one(world, [Fault(model.RELEASE, Kind.CRASH)], path=scenarios.DECLINED, token="tok_decline_regression")
    assert run.result is not None and run.result.error == constants.ERROR_COMPENSATION_FAILED
    left = invariants.leftovers(world, [run])[run.name]
    assert left == {"heldUnits": 2, "payment": "DECLINED", "brokenStep": "ReleaseStock"}
    assert constants.ERROR_COMPENSATION_FAILED not in constants.BUSINESS_ERRORS  # so it alarms at once


def test_a_subscriber_that_fails_after_its_effect_sends_one_email(world: World) -> None:
    run = run_one(world, [Fault("subscribers.notifications", Kind.CRASH_AFTER, times=2)])
    assert world.injector.attempts(run.name, "subscribers.notifications") == 3
