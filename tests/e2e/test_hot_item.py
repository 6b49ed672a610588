"""A hot product's stock item over its partition's write limit (sandbox/dynamodb.py): the hold is throttled, and the
order still ends as its path says, holding and selling its units once (docs/HOT-PRODUCT.md)."""

from __future__ import annotations

from sandbox import dynamodb, observe, scenarios
from sandbox.account import Sandbox
from sandbox.demo import deployed_pricing

SKU = "MUG-BLUE"  # one shard: every hold writes PRODUCT#MUG-BLUE
WAREHOUSE = "WH-EU-1"  # where a German order ships from
# Longer than a ReserveStock invocation retries a cancelled transaction (lambdas/shared/adapters/dynamo.py: at most
# ~2.5 s): the throttle surfaces from the function, and the workflow's Retry takes the step again.
OCCUPIED_SECONDS = 3.0


def _level(sandbox: Sandbox) -> observe.StockLevel:
    return next(level for level in observe.stock_levels(sandbox) if (level.sku, level.warehouse) == (SKU, WAREHOUSE))


def test_an_order_whose_hold_is_throttled_is_retried_and_completes(sandbox: Sandbox) -> None:
    storefront = scenarios.Storefront(scenarios.load_catalog(), deployed_pricing(sandbox))
    order = storefront.order("hot", [(SKU, 1)], "DE")
    table = sandbox.outputs["InventoryTableName"]
    before = _level(sandbox)
    with dynamodb.modelled(sandbox.clock, dynamodb.DynamoLimits(tables=frozenset({table}))) as model:
        model.occupy(table, f"PRODUCT#{SKU}", OCCUPIED_SECONDS)
        result = sandbox.runner().run([order], timeout=120)[0]
        assert sandbox.drain(timeout=60)
    assert result.status == "SUCCEEDED", result.reason
    assert model.throttled_keys[table, f"PRODUCT#{SKU}"] > 0
    failed = [event["taskFailedEventDetails"]["error"] for event in result.events("TaskFailed")]
    assert "TransactionCanceledException" in failed  # surfaced from ReserveStock, retried: not a business failure
    assert result.states.count("ReserveStock") == 1 and not result.entered("ReleaseStock")
    after = _level(sandbox)
    assert (after.available, after.held, after.sold) == (before.available - 1, before.held, before.sold + 1)
    assert observe.holds(sandbox, order["orderId"])[SKU]["status"] == "SOLD"
