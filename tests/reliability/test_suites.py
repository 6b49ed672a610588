"""The reliability suites at the small size (`make reliability` runs them at full size)."""

from __future__ import annotations

from collections import Counter

import pytest

from lambdas.shared import constants
from tests.reliability import bad_input, suites
from tests.reliability.run import BAD_INPUT_BATCH, SMALL
from tests.reliability.world import World

pytestmark = pytest.mark.e2e


def no_violations(world: World, violations: list[str]) -> str:
    return f"seed {world.seed} (RELIABILITY_SEED={world.seed} replays it):\n" + "\n".join(violations[:20])


def test_randomized_faults_break_no_invariant(world: World) -> None:
    injected_before = world.faults_injected()
    result = suites.fault_suite(world, SMALL.fault_orders, batch_size=20)
    assert not result.violations, no_violations(world, result.violations)
    kinds = Counter(str(i.kind) for i in world.injector.injected[injected_before:])
    assert len(kinds) >= 5 and sum(kinds.values()) >= 20, kinds  # the plan really hurt the orders
    assert result.outcomes["SUCCEEDED"] and sum(result.outcomes.values()) == SMALL.fault_orders


def test_bad_input_ends_invalid_naming_the_field_and_changes_nothing(world: World) -> None:
    before = world.totals.bad_inputs
    violations = bad_input.bad_input_suite(world, SMALL.bad_input_batches, BAD_INPUT_BATCH)
    assert not violations, no_violations(world, violations)
    assert world.totals.bad_inputs - before >= SMALL.bad_input_batches * BAD_INPUT_BATCH * 0.9


def test_duplicates_redeliveries_and_replays_change_nothing(world: World) -> None:
    result = suites.at_least_once_suite(world, SMALL.at_least_once_orders)
    assert not result.violations, no_violations(world, result.violations)


def test_orders_racing_for_scarce_stock_never_oversell(world: World) -> None:
    result = suites.load_suite(world, SMALL.load_racers)
    assert not result.violations, no_violations(world, result.violations)
    # The race happened: some won, some were turned away for want of stock.
    assert result.outcomes["SUCCEEDED"] and result.outcomes[f"FAILED {constants.ERROR_OUT_OF_STOCK}"]


def test_a_failing_subscriber_loses_nothing_and_a_redrive_restores_it(world: World) -> None:
    result = suites.subscriber_failure_suite(world, SMALL.subscriber_orders)
    assert not result.violations, no_violations(world, result.violations)


def test_review_callbacks_time_out_and_refuse_what_they_must(world: World) -> None:
    result = suites.callback_suite(world)
    assert not result.violations, no_violations(world, result.violations)
