"""What a new user hit (issue 12): hints that left the sandbox, the sandbox clock, exit codes, JSON keys."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from orderctl.render import camel_keys
from orderctl.stack import Target
from sandbox.account import Sandbox
from tests.orderctl.conftest import Orderctl, OrderIds
from tests.orderctl.test_reviews import start_review

ROOT = Path(__file__).resolve().parents[2]
SNAKE_KEY = re.compile(r"^[a-z0-9]+_[a-z0-9_]+$")


def snake_keys(data: Any) -> set[str]:
    if isinstance(data, dict):
        return {k for k in data if SNAKE_KEY.match(k)} | {s for v in data.values() for s in snake_keys(v)}
    if isinstance(data, list):
        return {s for v in data for s in snake_keys(v)}
    return set()


def test_printed_commands_keep_the_endpoint(orderctl: Orderctl, new_id: OrderIds) -> None:
    """A command copied from orderctl's output in the sandbox must not reach real AWS."""
    here = f"orderctl --endpoint-url {orderctl.endpoint_url}"
    order_id = new_id("hint")
    started = orderctl.ok("start", "--example", "review", "--order-id", order_id).out
    assert f"follow     {here} status {order_id}" in started
    settle_review = orderctl.ok("start", "--example", "review", "--order-id", order_id, "--wait", "30").out
    assert f"{here} approve {order_id}  |  {here} reject {order_id}" in settle_review
    assert f"{here} approve <orderId>" in orderctl.ok("reviews").out
    rejected = orderctl.ok("reject", order_id, "--reviewer", "bob").out
    assert f"See: {here} status {order_id}" in rejected
    missing = orderctl("status", "ord-never-started")
    assert f"start one with `{here} start`" in missing.err
    for text in (started, settle_review, rejected, missing.err):
        for command in re.findall(r"(?:python -m )?orderctl [a-z<][^\n|`]*", text):
            assert command.startswith(here), command


def test_qualify_completes_orderctl_and_aws_commands_only() -> None:
    target = Target("Shop", "eu-central-1", None, "http://127.0.0.1:5000")
    text = target.qualify(
        "orderctl: error: see `python -m orderctl status ord-1`; aws events describe-replay --replay-name r; "
        "an aws account; orderctl:alice"
    )
    assert text == (
        "orderctl: error: see `orderctl --endpoint-url http://127.0.0.1:5000 --region eu-central-1 --stack Shop "
        "status ord-1`; aws --endpoint-url http://127.0.0.1:5000 --region eu-central-1 events describe-replay "
        "--replay-name r; an aws account; orderctl:alice"
    )
    assert Target().qualify("run orderctl reviews") == "run orderctl reviews"


def test_rejecting_twice_says_who_rejected_and_nothing_continues(orderctl: Orderctl, new_id: OrderIds) -> None:
    order_id = new_id("twice")
    start_review(orderctl, order_id)
    first = orderctl.ok("reject", order_id, "--reviewer", "bob", "--note", "stolen card", "--wait", "30")
    assert "FAILED with Order.ReviewRejected" in first.out
    again = orderctl("reject", order_id, "--reviewer", "carol")
    assert again.code == 1
    assert f"Order {order_id} is not waiting for a payment review: its payment is VOIDED: it was rejected by bob" in (
        again.err
    )
    assert "timed out" not in again.err
    for text in (first.out, again.out, again.err, orderctl.ok("status", order_id).out):
        assert "continues" not in text.lower()


def test_json_keys_are_camel_case_everywhere(orderctl: Orderctl, server: Sandbox, new_id: OrderIds) -> None:
    orderctl.ok("start", "--example", "happy", "--order-id", new_id("json"), "--variant", "json-v", "--wait", "30")
    assert server.drain(30)
    outputs = {
        "sales": orderctl.data("sales"),
        "audit-verify": orderctl.data("audit-verify"),
        "sweep": orderctl.data("sweep"),
        "reviews": orderctl.data("reviews"),
        "redrive": orderctl.data("redrive", "analytics", "--dry-run"),
    }
    assert any(v["variant"] == "json-v" for v in outputs["sales"]["variants"])
    assert "revenueCents" in outputs["sales"]["variants"][0]
    assert {name: snake_keys(data) for name, data in outputs.items()} == {name: set() for name in outputs}


def test_camel_keys_leaves_values_and_other_spellings_alone() -> None:
    data = {"revenue_cents": 1, "orderId": "ord_1", "Error": "x", "items": [{"orders_lift_pct": None}]}
    assert camel_keys(data) == {"revenueCents": 1, "orderId": "ord_1", "Error": "x", "items": [{"ordersLiftPct": None}]}


def test_orderctl_is_a_command() -> None:
    """`orderctl ...` after `make setup` (pip install -e . into .venv), not only `python -m orderctl`."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"] == {"orderctl": "orderctl.__main__:main"}
    makefile = (ROOT / "Makefile").read_text()
    assert "--no-deps --no-build-isolation -e ." in makefile
    command = Path(sys.executable).parent / "orderctl"
    assert command.exists(), "run `make setup`"
    shown = subprocess.run([str(command), "--help"], capture_output=True, text=True, check=True, timeout=60).stdout
    assert shown.startswith("usage: orderctl ")
