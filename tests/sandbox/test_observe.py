"""What the sandbox reports (sandbox/observe.py) reads the sandbox's clock, as the functions stamp their records."""

from __future__ import annotations

from pathlib import Path

from sandbox import observe, scenarios
from sandbox.account import Sandbox
from sandbox.demo import deployed_pricing


def test_sales_by_variant_default_to_the_sandbox_clocks_day(cdk_out: Path) -> None:
    with Sandbox(cdk_out, seed_catalog=scenarios.CATALOG_PATH) as sandbox:
        sandbox.clock.advance(3 * 86_400)  # e.g. after a review's 72 h were let pass
        storefront = scenarios.Storefront(scenarios.load_catalog(), deployed_pricing(sandbox))
        order = {**storefront.order("variant", [("MUG-BLUE", 1)], "DE"), "siteVariant": "checkout-v3"}
        (result,) = sandbox.runner().run([order], timeout=120)
        assert sandbox.drain(timeout=60)
        assert result.status == "SUCCEEDED", result.reason
        assert {s.variant: s.orders for s in observe.analytics_by_variant(sandbox)}.get("checkout-v3") == 1
