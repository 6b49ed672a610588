"""What the reliability suites found, each pinned by a scheduled fault (one order, one fault)."""

from __future__ import annotations

import pytest

from infra import alarms
from lambdas.shared import constants
from sandbox import scenarios
from sandbox.faults import Fault, Kind
from tests.reliability import invariants, model, suites
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
    assert {"ReleaseStock", "PublishOrderFailed"} <= set(run.result.states)  # compensated, OrderFailed published


def test_a_validation_that_keeps_timing_out_is_rejected_by_name(world: World) -> None:
    run = run_one(world, [Fault(model.VALIDATE, Kind.TASK_TIMEOUT)])
    assert run.result is not None
    assert run.result.error == constants.ERROR_STEP_TIMED_OUT
    assert run.result.states[-1] == "RejectOrder" and "ReserveStock" not in run.result.states


def test_a_lost_reply_after_the_charge_charges_once(world: World) -> None:
    run = run_one(world, [Fault(model.COLLECT, Kind.LOST_REPLY, times=3)])
    assert run.result is not None and run.result.status == "SUCCEEDED"
    assert world.injector.attempts(run.name, model.COLLECT) == 4  # three charges that "timed out", one answer


def test_a_broken_compensation_is_named_and_its_leftovers_are_reported(world: World) -> None:
    run = run_one(world, [Fault(model.RELEASE, Kind.CRASH)], path=scenarios.DECLINED, token="tok_decline_regression")
    assert run.result is not None and run.result.error == constants.ERROR_COMPENSATION_FAILED
    left = invariants.leftovers(world, [run])[run.name]
    assert left == {"heldUnits": 2, "payment": "DECLINED", "brokenSteps": ["ReleaseStock"]}
    assert constants.ERROR_COMPENSATION_FAILED not in alarms.BUSINESS_ERRORS  # so it alarms at once


def test_a_subscriber_that_fails_after_its_effect_sends_one_email(world: World) -> None:
    run = run_one(world, [Fault("subscribers.notifications", Kind.CRASH_AFTER, times=2)])
    assert world.injector.attempts(run.name, "subscribers.notifications") == 3


# -- issue 10 -----------------------------------------------------------------------------------------------
def _repaired(world: World, run: OrderRun) -> OrderRun:
    for fault in run.faults:
        world.injector.remove(run.name, fault.function)
    how, said = world.repair(run, invariants.row(run) == invariants.STALLED)
    assert how is not None, said
    run.repaired = how
    problems = invariants.check(world, [run])
    assert not problems, problems
    return run


def test_a_lost_reply_after_the_commit_point_stops_the_order_and_a_redrive_completes_it(world: World) -> None:
    # Issue 10, finding 1: a lost reply from PublishOrderCompleted (EventBridge accepted the event) went to
    # CancelShipment -> RefundPayment: the sale was unwound although OrderCompleted was out.
    run = run_one(world, [Fault("PublishOrderCompleted", Kind.INTEGRATION_LOST_REPLY)])
    assert run.result is not None and run.result.status == "FAILED"
    assert run.result.states[-1] == "PublishOrderCompleted"
    assert not {"CancelShipment", "RefundPayment", "ReleaseStock"} & set(run.result.states)
    assert invariants.read_state(world).payments[run.name]["status"] in invariants.CHARGED
    run = _repaired(world, run)
    assert run.result is not None and run.result.status == "SUCCEEDED"


def test_a_missing_bus_is_named_and_nothing_is_undone(world: World) -> None:
    # Issue 10, finding 1: with the bus missing the order ended States.Runtime, hiding the cause.
    run = run_one(world, [Fault("PublishOrderCompleted", Kind.RESOURCE_MISSING)])
    assert run.result is not None
    assert (run.result.status, run.result.error) == ("FAILED", "EventBridge.ResourceNotFoundException")
    assert run.result.states[-1] == "PublishOrderCompleted"
    _repaired(world, run)


def test_a_refund_that_fails_for_good_still_releases_the_stock_and_publishes_order_failed(world: World) -> None:
    # Issue 10, finding 2: a RefundPayment out of retries skipped ReleaseStock and PublishOrderFailed.
    run = run_one(world, [Fault(model.REFUND, Kind.CRASH)], path=scenarios.DECLINED, token="tok_decline_regression")
    assert run.result is not None and run.result.error == constants.ERROR_COMPENSATION_FAILED
    assert {"ReleaseStock", "PublishOrderFailed"} <= set(run.result.states)
    state = invariants.read_state(world)
    assert not [h for h in state.holds.get(run.name, []) if h["status"] == "HELD"]
    failed = state.published(run.name, constants.EVENT_ORDER_FAILED)
    assert len(failed) == 1 and "Error" in failed[0]["detail"]["data"]["compensation"]["refundPayment"]


def test_an_execution_not_named_after_its_order_is_refused_before_anything_is_held(world: World) -> None:
    # Issue 10, finding 5: another execution name made a second outcome for one order.
    order = world.order("reg", [("MUG-BLUE", 1)])
    run = OrderRun(scenarios.INVALID, order, world.new_name("other-name"))
    run.expected_field = "executionName"  # bad input: it must leave no trace under either name
    world.run_batch([run])
    assert run.result is not None and (run.result.status, run.result.error) == ("FAILED", constants.ERROR_INVALID)
    assert run.result.states[-1] == "RejectOrder" and "ReserveStock" not in run.result.states
    assert not invariants.check_no_trace(world, [run])


def test_crash_after_the_charge_in_a_task_function_charges_once_and_gives_it_back_once(world: World) -> None:
    # Issue 10, finding 6: crash-after-write was never chosen for task functions.
    run = run_one(world, [Fault(model.COLLECT, Kind.CRASH_AFTER, times=1)])
    assert run.result is not None and (run.result.status, run.result.error) == ("FAILED", "RuntimeError")
    assert invariants.read_state(world).payments[run.name]["status"] in invariants.NOT_CHARGED


def test_a_notification_that_exceeds_its_retries_is_compensated_with_the_shipment_cancelled(world: World) -> None:
    # Issue 10, finding 6: transient faults never exceeded a retry budget; integrations were never faulted.
    retries = world.budgets["NotifyWarehouse"].retries
    run = run_one(world, [Fault("NotifyWarehouse", Kind.INTEGRATION_ERROR_AFTER, times=retries + 1)])
    assert run.result is not None and run.result.status == "FAILED"
    kinds = [m["type"] for m in world.warehouse_messages if m.get("orderId") == run.name]
    assert sorted(kinds) == ["CancelShipment", "ShipOrder"]  # told (the reply was lost), then cancelled


def test_a_notification_that_crashes_for_good_dead_letters_its_own_message_only(world: World) -> None:
    # Found (seed 288173): the notifications buffer read batches of 10, and a function-level crash fails a batch
    # whole; SQS counts receives, not failures, so the crashing order's batch-mates reached maxReceiveCount with it
    # and were dead-lettered. Here two orders hold both of the buffer's readers while the crashing order and three
    # others queue up behind them, so the four are read together, as under load.
    notifications = "subscribers.notifications"

    def happy(faults: list[Fault]) -> OrderRun:
        order = world.order("reg", [("MUG-BLUE", 1)])
        run = OrderRun(scenarios.HAPPY, order, order["orderId"], faults)
        run.expected = model.expect(run.path, {f.function: f for f in faults}, world.budgets)
        return run

    blockers = [happy([]) for _ in range(2)]
    queued = [happy([Fault(notifications, Kind.CRASH)]), *(happy([]) for _ in range(3))]
    gates = [world.injector.hold(run.name, notifications) for run in blockers]
    started = [world.start(run) for run in blockers]
    for gate in gates:
        assert gate.reached.wait(60), "the buffer's readers never took the blocking orders"
    started += [world.start(run) for run in queued]
    runner = world.sandbox.runner()
    runner.wait(started[2:])
    for gate in gates:
        gate.release()
    runs = world.run_batch_started([*blockers, *queued], started)
    problems = suites.redrive_dead_letters(world, runs)  # the DLQ holds the crashing order's e-mail, nothing else
    problems += invariants.check(world, runs)
    assert not problems, problems


def test_channel_orders_end_as_their_saga_spec_rows_under_faults(world: World) -> None:
    # Issue 15: marketplace and store orders in the reliability world (docs/SAGA-SPEC.md's channel rows). Paid
    # there: PREPAID, the gateway never called, compensation refunds nothing; a store's handed-over sale ships
    # nothing and books no carrier; the channel on every event of the order.
    def channel_run(path: str, faults: list[Fault]) -> OrderRun:
        order = suites.channel_order(world, path, "chn")
        expected = model.expect(path, {f.function: f for f in faults}, world.budgets)
        return OrderRun(path, order, order["orderId"], faults, expected=expected)

    runs = [
        channel_run(scenarios.MARKETPLACE_SHIPPED, []),
        channel_run(scenarios.STORE_HANDED_OVER, [Fault(model.COLLECT, Kind.LOST_REPLY, times=2)]),
        channel_run(scenarios.MARKETPLACE_SHIPPED, [Fault(model.NOTIFY, Kind.INTEGRATION_ERROR)]),  # compensated
        channel_run(scenarios.STORE_HANDED_OVER, [Fault(model.RECORD, Kind.CRASH)]),  # stalled after the commit
    ]
    world.run_batch(runs)
    problems = invariants.check(world, runs)
    problems += suites.repair_left_for_a_person(world, runs)
    assert not problems, "\n".join(problems)
    ended = [(run.result.status, run.result.error) for run in runs if run.result is not None]
    assert ended[:3] == [
        ("SUCCEEDED", None),
        ("SUCCEEDED", None),
        ("FAILED", model.named(Fault(model.NOTIFY, Kind.INTEGRATION_ERROR).error)),
    ]
    assert ended[3] == ("SUCCEEDED", None) and runs[3].repaired  # finished by a person, as for a web order
    assert runs[0].name.startswith("ebuy-") and runs[1].name.startswith("city_store-")
